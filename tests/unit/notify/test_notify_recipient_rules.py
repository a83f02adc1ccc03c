"""The staff recipient rules, directly: defaults, whole team, nobody-can-handle fallback, availability, roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.recipients import (
    StaffRecipient,
    TicketStaffContext,
    available,
    choose_ticket_staff,
    deadline_staff,
    escalation_staff,
    resolve_roles,
    service_type_of,
    sla_staff,
    ticket_staff,
)
from shared.contracts.schemas.common import Classification
from shared.directory.routing import (
    Agent,
    Availability,
    Group,
    Role,
    ServiceNode,
    ServiceTeam,
    Shift,
    Staff,
    TeamMember,
    on_shift,
)
from shared.directory.routing import shift_covers as in_shift  # notify decides by routing's schedule rule

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday


def ag(aid: str, **kw: object) -> Agent:
    return Agent(id=aid, name=aid, **kw)  # type: ignore[arg-type]


def directory(*, whole_team: bool = False, away: tuple[str, ...] = ()) -> Staff:
    agents = [ag("lead", roles=[Role.team_lead]), ag("admin"), ag("spec"), ag("spec_rail"), ag("lead_rail"),
              ag("subscriber", subscriptions=["air"]), ag("stranger", subscriptions=["hotel"]),
              ag("other_team_hotel"), ag("glead"), ag("head", roles=[Role.head_of_division]), ag("role_admin",
                                                                                               roles=[Role.administrator])]
    agents = [a.model_copy(update={"availability": Availability.vacation}) if a.id in away else a for a in agents]
    teams = [
        ServiceTeam(id="T", name="T", notify_whole_team=whole_team, members=[
            TeamMember(agent_id="lead", service_types=["air", "rail"], role=Role.team_lead),
            TeamMember(agent_id="admin", service_types=["air"], role=Role.administrator),
            TeamMember(agent_id="spec", service_types=["air"]),
            TeamMember(agent_id="spec_rail", service_types=["rail"]),
            TeamMember(agent_id="lead_rail", service_types=["rail"], role=Role.team_lead),
            TeamMember(agent_id="subscriber", service_types=[]),
            TeamMember(agent_id="role_admin", service_types=["air"])]),
        ServiceTeam(id="H", name="Hotels", members=[TeamMember(agent_id="other_team_hotel", service_types=["hotel"])]),
    ]
    return Staff(agents={a.id: a for a in agents}, teams={t.id: t for t in teams},
                          groups={"g": Group(id="g", line_id="first", lead_ids=["glead"])},
                          services={"air": ServiceNode(id="air", service_type="air"),
                                    "air-refund": ServiceNode(id="air-refund", parent_id="air"),
                                    "loop-a": ServiceNode(id="loop-a", parent_id="loop-b"),
                                    "loop-b": ServiceNode(id="loop-b", parent_id="loop-a")})


def ids(rs: list[StaffRecipient], push: bool | None = None) -> set[str]:
    return {r.agent_id for r in rs if push is None or r.push == push}


# ---- service type ------------------------------------------------------------------------------


def test_service_type_comes_from_the_catalogue_then_the_topic() -> None:
    svc = directory().services
    assert service_type_of(Classification(service_id="air", sub_service_id="air-refund", topic="x"), svc) == "air"
    assert service_type_of(Classification(service_id="air"), svc) == "air"
    assert service_type_of(Classification(service_id="unknown", topic="hotel"), svc) == "hotel"
    assert service_type_of(Classification(service_id="loop-a", topic="t"), svc) == "t"  # a cycle ends the walk
    assert service_type_of(Classification(), svc) is None and service_type_of(None, svc) is None


# ---- availability ------------------------------------------------------------------------------


def test_shifts_including_night_shifts_that_cross_midnight() -> None:
    day, night = Shift(weekday=0, start="09:00", end="18:00"), Shift(weekday=0, start="22:00", end="06:00")
    assert in_shift(day, NOW) and not in_shift(day, NOW.replace(hour=18))
    assert not in_shift(day, NOW.replace(day=3))  # Tuesday
    assert in_shift(night, NOW.replace(hour=23)) and in_shift(night, NOW.replace(day=3, hour=5))
    assert not in_shift(night, NOW.replace(day=3, hour=7)) and not in_shift(night, NOW.replace(hour=5))


def test_availability_needs_online_and_on_shift_in_the_agents_timezone() -> None:
    assert available(ag("a"), NOW) and not available(None, NOW)
    for status in (Availability.lunch, Availability.off_shift, Availability.vacation, Availability.sick):
        assert not available(ag("a", availability=status), NOW)
    moscow = ag("m", timezone="Europe/Moscow", shifts=[Shift(weekday=0, start="12:00", end="14:00")])
    assert on_shift(moscow, NOW)  # 10:00 UTC = 13:00 in Moscow
    assert not on_shift(moscow.model_copy(update={"timezone": "UTC"}), NOW)
    assert on_shift(ag("x", timezone="Not/AZone", shifts=[Shift(weekday=0, start="09:00", end="11:00")]), NOW)


# ---- the default rule, the whole-team flag, the fallback --------------------------------------


def test_default_is_assignee_plus_leads_and_admins_subscribed_to_the_team_and_type() -> None:
    d = directory()
    chosen = choose_ticket_staff(d, TicketStaffContext(team_id="T", service_type="air", assignee_id="spec"))
    # lead_rail is a lead but not for air; spec_rail and subscriber are specialists; role_admin is an
    # administrator by agent role even though the team lists them as a specialist.
    assert chosen == {"spec": "assignee", "lead": "team_lead", "admin": "team_lead", "role_admin": "team_lead"}
    assert set(choose_ticket_staff(d, TicketStaffContext(team_id="T", service_type="rail"))) == {"lead", "lead_rail"}


def test_agent_subscription_counts_as_subscribed_within_the_team() -> None:
    d = directory(whole_team=True)
    chosen = choose_ticket_staff(d, TicketStaffContext(team_id="T", service_type="air"))
    assert set(chosen) == {"lead", "admin", "spec", "subscriber", "role_admin"}
    assert set(chosen.values()) == {"whole_team"}


def test_whole_team_flag_notifies_every_subscribed_member_even_with_an_assignee() -> None:
    d = directory(whole_team=True)
    chosen = choose_ticket_staff(d, TicketStaffContext(team_id="T", service_type="rail", assignee_id="spec_rail"))
    assert chosen == {"lead": "whole_team", "spec_rail": "assignee", "lead_rail": "whole_team"}


def test_nobody_in_the_team_handles_the_type_so_the_whole_agency_subscribed_to_it_is_told() -> None:
    d = directory()
    chosen = choose_ticket_staff(d, TicketStaffContext(team_id="T", service_type="hotel"))
    assert chosen == {"stranger": "agency", "other_team_hotel": "agency"}
    # a subscription alone inside the team does not make the team able to handle the type
    assert set(choose_ticket_staff(d, TicketStaffContext(team_id="H", service_type="air"))) == {"subscriber", "lead",
                                                                                                 "admin", "spec",
                                                                                                 "role_admin"}


def test_no_team_falls_back_to_the_agency_or_the_group_leads() -> None:
    d = directory()
    assert set(choose_ticket_staff(d, TicketStaffContext(service_type="hotel"))) == {"stranger", "other_team_hotel"}
    assert choose_ticket_staff(d, TicketStaffContext(group_id="g")) == {"glead": "group_lead"}
    assert choose_ticket_staff(d, TicketStaffContext()) == {}
    assert choose_ticket_staff(d, TicketStaffContext(service_type="nothing")) == {}


def test_unknown_type_with_a_team_tells_its_leads() -> None:
    assert set(choose_ticket_staff(directory(), TicketStaffContext(team_id="T"))) == {"lead", "admin", "lead_rail",
                                                                                       "role_admin"}


# ---- availability applied ----------------------------------------------------------------------


def test_unavailable_people_get_the_feed_only_and_their_lead_gets_the_push() -> None:
    d = directory(away=("spec", "admin"))
    rs = ticket_staff(d, TicketStaffContext(team_id="T", service_type="air", assignee_id="spec"), NOW)
    assert ids(rs, push=False) == {"spec", "admin"} and ids(rs, push=True) == {"lead", "role_admin"}


def test_a_covering_lead_is_added_even_when_not_otherwise_chosen() -> None:
    d = directory(whole_team=True, away=("spec_rail",))
    rs = ticket_staff(d, TicketStaffContext(team_id="T", service_type="rail", assignee_id="spec_rail"), NOW)
    by = {r.agent_id: r for r in rs}
    assert not by["spec_rail"].push and by["lead"].push and by["lead_rail"].push
    d2 = directory(away=("stranger",))
    rs2 = ticket_staff(d2, TicketStaffContext(service_type="hotel", group_id="g"), NOW)
    assert {(r.agent_id, r.push, r.reason) for r in rs2} == {("stranger", False, "agency"),
                                                             ("other_team_hotel", True, "agency"),
                                                             ("glead", True, "covering:stranger")}


def test_nobody_covers_when_every_lead_is_away_and_actors_are_excluded() -> None:
    d = directory(away=("spec", "lead", "admin", "role_admin", "lead_rail"))
    rs = ticket_staff(d, TicketStaffContext(team_id="T", service_type="air", assignee_id="spec"), NOW)
    assert ids(rs, push=True) == set() and ids(rs) == {"spec", "lead", "admin", "role_admin"}
    rs = ticket_staff(directory(), TicketStaffContext(team_id="T", service_type="air"), NOW, exclude=["lead"])
    assert "lead" not in ids(rs)


def test_unknown_people_still_get_a_feed_item() -> None:
    rs = ticket_staff(directory(), TicketStaffContext(assignee_id="ghost"), NOW)
    assert rs == [StaffRecipient("ghost", False, "assignee")]


# ---- escalation, SLA ---------------------------------------------------------------------------


def test_escalation_names_people_and_roles_relative_to_the_ticket() -> None:
    d = directory()
    ctx = TicketStaffContext(team_id="T", group_id="g", assignee_id="spec", service_type="air")
    assert resolve_roles(d, ["assignee"], ctx) == {"spec": "role:assignee"}
    assert set(resolve_roles(d, ["team_lead"], ctx)) == {"lead", "lead_rail"}
    assert set(resolve_roles(d, ["team_lead"], TicketStaffContext(group_id="g"))) == {"glead"}
    assert set(resolve_roles(d, ["group_lead"], ctx)) == {"glead"}
    assert set(resolve_roles(d, ["administrator"], ctx)) == {"admin", "role_admin"}
    assert set(resolve_roles(d, ["head_of_division"], ctx)) == {"head"}
    assert resolve_roles(d, ["no_such_role"], ctx) == {}
    rs = escalation_staff(d, ["head"], ["group_lead"], ctx, NOW)
    assert {(r.agent_id, r.reason) for r in rs} == {("head", "escalation"), ("glead", "role:group_lead")}


@pytest.mark.parametrize(("assignee", "breached", "expected"), [
    ("spec", False, {"spec"}), (None, False, {"glead"}), ("spec", True, {"spec", "glead"}), (None, True, {"glead"}),
])
def test_sla_warnings_go_to_the_assignee_and_breaches_to_the_group_leads_too(assignee: str | None, breached: bool,
                                                                              expected: set[str]) -> None:
    ctx = TicketStaffContext(team_id="T", group_id="g", assignee_id=assignee)
    assert ids(sla_staff(directory(), ctx, NOW, breached=breached)) == expected


def test_sla_without_a_group_falls_back_to_team_leads() -> None:
    assert ids(sla_staff(directory(), TicketStaffContext(team_id="T"), NOW, breached=True)) == {"lead", "lead_rail"}


def test_deadline_reminders_go_to_the_assignee_else_the_service_teams_leads() -> None:
    ctx = TicketStaffContext(team_id="T", group_id="g", assignee_id="spec", service_type="air")
    assert deadline_staff(directory(), ctx, NOW) == [StaffRecipient("spec", True, "assignee")]
    unassigned = TicketStaffContext(team_id="T", group_id="g", service_type="air")
    # the team's leads and administrators for air; not lead_rail (rail only), not the group lead
    assert {(r.agent_id, r.push, r.reason) for r in deadline_staff(directory(), unassigned, NOW)} == {
        ("lead", True, "team_lead"), ("admin", True, "team_lead"), ("role_admin", True, "team_lead")}
    away = deadline_staff(directory(away=("spec",)), ctx, NOW)
    assert {(r.agent_id, r.push, r.reason) for r in away} == {
        ("spec", False, "assignee"), ("lead", True, "covering:spec"), ("admin", True, "covering:spec"),
        ("role_admin", True, "covering:spec")}
    assert ids(deadline_staff(directory(), TicketStaffContext(group_id="g"), NOW)) == {"glead"}, "no team: group"
