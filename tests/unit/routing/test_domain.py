"""Pure routing decisions: line and group, who may take a ticket, auto-assign strategies, fallbacks, lost tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.routing.domain import (
    Alert,
    Assign,
    Flag,
    Nobody,
    Offer,
    Policy,
    Retry,
    Staff,
    auto_assign,
    catalogue_groups,
    choose,
    eligible,
    lost,
    route,
    settle_flags,
    target_group,
    target_line,
    team_leads,
)
from services.routing.projection import TicketView
from shared.contracts.schemas.common import Classification, RequestedLine, TicketStatus
from shared.directory.routing import (
    Agent,
    Availability,
    Group,
    Line,
    Role,
    ServiceNode,
    ServiceTeam,
    Shift,
    TeamMember,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # Monday 10:00 UTC
NIGHT = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
DAY = [Shift(weekday=d, start="09:00", end="18:00") for d in range(5)]
NIGHTS = [Shift(weekday=d, start="22:00", end="06:00") for d in range(7)]
LINES = [Line(id="first", order=1), Line(id="second", order=2), Line(id="third", order=3),
         Line(id="development", order=9), Line(id="commercial", order=0)]


def a(id: str, lines: list[str], **kw: object) -> Agent:
    return Agent(id=id, name=id.upper(), line_ids=lines, **kw)  # type: ignore[arg-type]


def staff(*agents: Agent, teams: tuple[ServiceTeam, ...] = (), groups: tuple[Group, ...] = (),
          services: tuple[ServiceNode, ...] = ()) -> Staff:
    return Staff(agents={x.id: x for x in agents}, teams={x.id: x for x in teams}, groups={g.id: g for g in groups},
                 services={s.id: s for s in services}, lines={ln.id: ln for ln in LINES})


TEAM = ServiceTeam(id="team-1", name="Acme", members=[
    TeamMember(agent_id="night", night_shift=True), TeamMember(agent_id="lead", role=Role.team_lead),
    TeamMember(agent_id="d1", service_types=["air"])])
CATALOGUE = (ServiceNode(id="travel", group_ids=["g-first"], service_type="air"),
             ServiceNode(id="air", parent_id="travel"),
             ServiceNode(id="visa", parent_id="travel", group_ids=["g-visa", "g-second"]))
GROUPS = (Group(id="g-first", line_id="first", lead_ids=["glead"]), Group(id="g-visa", line_id="first"),
          Group(id="g-second", line_id="second"))


def view(**kw: object) -> TicketView:
    return TicketView(id="T1", **kw)  # type: ignore[arg-type]


# ---- line and group -------------------------------------------------------------------------------------


def test_line_from_ticket_then_requested_line_then_catalogue_then_default() -> None:
    """Without a tree or urgency rules (see test_line_precedence for those)."""
    s, p = staff(groups=GROUPS, services=CATALOGUE), Policy()
    assert target_line(view(line="third", requested_line=RequestedLine.plain), s, p) == "third"
    assert target_line(view(requested_line=RequestedLine.technical), s, p) == "second"
    assert target_line(view(requested_line=RequestedLine.plain), s, p) == "first"
    assert target_line(view(requested_line=RequestedLine.not_technical), s, p) == "commercial"
    assert target_line(view(classification=Classification(service_id="x", sub_service_id="visa")), s, p) == "first"
    assert target_line(view(), s, p) == "first"
    # the lines directory names who serves which choice; a choice nobody serves falls to the default
    named = {**s.lines, "third": Line(id="third", order=3, client_choices=["technical"])}
    custom, p2 = Staff(groups=s.groups, services=s.services, lines=named), Policy(default_line="commercial")
    assert target_line(view(requested_line=RequestedLine.technical), custom, p2) == "third"
    assert target_line(view(requested_line=RequestedLine.plain), custom, p2) == "commercial"


def test_group_from_catalogue_narrowed_to_the_line() -> None:
    s, p = staff(groups=GROUPS, services=CATALOGUE), Policy()
    visa = view(classification=Classification(service_id="travel", sub_service_id="visa"))
    assert catalogue_groups(visa, s, p) == ["g-visa", "g-second"]
    assert target_group(visa, "first", s, p) == "g-visa"
    assert target_group(visa, "second", s, p) == "g-second"
    assert target_group(visa, "third", s, p) is None
    air = view(classification=Classification(service_id="travel", sub_service_id="air"))
    assert target_group(air, "first", s, p) == "g-first"  # sub-service without groups inherits its service's
    assert target_group(view(group_id="g-second"), "second", s, p) == "g-second"
    assert target_group(view(group_id="g-second"), "first", s, p) is None  # a group of another line is dropped


# ---- who may take it -----------------------------------------------------------------------------------


def test_eligible_agents_are_online_on_shift_and_of_the_line_and_group() -> None:
    s = staff(a("x", ["first"], group_ids=["g-first"]), a("y", ["first"]),
              a("lunch", ["first"], availability=Availability.lunch),
              a("sick", ["first"], availability=Availability.sick),
              a("dayonly", ["first"], shifts=DAY), a("other", ["second"]))
    assert eligible(s, "first", None, NOW) == ["dayonly", "x", "y"]
    assert eligible(s, "first", None, NIGHT) == ["x", "y"]
    assert eligible(s, "first", "g-first", NOW) == ["x"]
    assert eligible(s, "first", "g-first", NOW, exclude=["x"]) == ["dayonly", "y"]  # group empty → the line
    assert eligible(s, "second", None, NOW) == ["other"]


def test_choose_strategies_are_deterministic_and_stay_in_the_pool() -> None:
    s = staff(a("x", ["first"], skills=["rail"]), a("y", ["first"], skills=["air"]), a("z", ["first"]))
    pool = ["x", "y", "z"]
    picks = {choose(pool, "random", s, seed=f"T{i}") for i in range(40)}
    assert picks == {"x", "y", "z"}  # spreads over the pool
    assert choose(pool, "random", s, seed="T7") == choose(pool, "random", s, seed="T7")
    assert choose([], "random", s, seed="T") is None
    loads = {"x": 3, "y": 1, "z": 1}
    assert {choose(pool, "least_loaded", s, seed=f"T{i}", loads=loads) for i in range(20)} == {"y", "z"}
    assert choose(pool, "skills_first", s, seed="T", loads=loads, skill="rail") == "x"
    assert choose(pool, "skills_first", s, seed="T", loads={"y": 0, "z": 0, "x": 0}, skill="air") == "y"
    assert choose(pool, "skills_first", s, seed="T", loads={"x": 0, "y": 5, "z": 0}, skill="ship") in ("x", "z")


# ---- decisions ------------------------------------------------------------------------------------------


def test_new_ticket_is_offered_to_every_available_agent_of_the_line() -> None:
    s = staff(a("x", ["first"]), a("y", ["first"]), a("away", ["first"], availability=Availability.vacation),
              a("z", ["second"]))
    actions = route(view(requested_line=RequestedLine.plain), s, Policy(), NOW)
    assert actions == [Offer(("x", "y"), "first", None, None, "new")]  # a client's service team: test_team_routing
    assert route(view(status=TicketStatus.assigned, assignee_id="x"), s, Policy(), NOW) == []


def test_off_hours_ticket_goes_to_the_night_shift_then_the_leads_then_nobody() -> None:
    day = a("d1", ["first"], shifts=DAY)  # the team's day specialist
    night = a("night", [], shifts=NIGHTS)  # team specialists outside the line rotation
    lead = a("lead", [], roles=[Role.team_lead])
    t = view(requested_line=RequestedLine.plain, service_team_id="team-1")
    actions = route(t, staff(day, night, lead, teams=(TEAM,)), Policy(), NIGHT)
    assert actions[0] == Assign("night", "night_shift", "nobody of service team team-1 available on line first")
    assert actions[1] == Nobody("first", None, "night_shift", "night")
    assert isinstance(actions[2], Alert) and actions[2].reason == "auto_assigned_to_night_shift"
    assert actions[2].lead_ids == ("lead",)
    # The night-shift specialist is sick: a team lead takes it.
    sick_night = night.model_copy(update={"availability": Availability.sick})
    actions = route(t, staff(day, sick_night, lead, teams=(TEAM,)), Policy(), NIGHT)
    assert actions[0] == Assign("lead", "team_lead",
                                "nobody of service team team-1 available on line first and no night shift")
    assert actions[1] == Nobody("first", None, "team_lead", "lead")
    # Nobody at all: alert the leads, flag the ticket, try again later.
    away_lead = lead.model_copy(update={"availability": Availability.vacation})
    actions = route(t, staff(day, sick_night, away_lead, teams=(TEAM,)), Policy(), NIGHT)
    assert [type(x) for x in actions] == [Nobody, Alert, Flag, Retry]
    assert actions[1] == Alert(("lead",), "nobody_available", None,
                               "nobody of service team team-1 available on line first", "team-1")
    assert route(t, staff(day, sick_night, away_lead, teams=(TEAM,)), Policy(), NIGHT, quiet=True) == [
        Retry("nobody_available")]
    # In the day the same ticket is simply offered.
    assert route(t, staff(day, night, lead, teams=(TEAM,)), Policy(), NOW) == [
        Offer(("d1",), "first", None, "team-1", "new")]


def test_auto_assign_never_picks_an_unavailable_or_off_shift_agent() -> None:
    offered = view(status=TicketStatus.offered, line="first", offer_round=1,
                   offered_to=["x", "y", "lunch", "dayonly"])
    s = staff(a("x", ["first"], availability=Availability.sick), a("y", ["first"]),
              a("lunch", ["first"], availability=Availability.lunch), a("dayonly", ["first"], shifts=DAY))
    for i in range(20):
        pick = auto_assign(offered.model_copy(update={"id": f"T{i}"}), s, Policy(), NIGHT, offer_round=1)
        assert pick == [Assign("y", "auto", "nobody claimed within 40 s")]
    # Everyone offered went away, someone else of the line is here now.
    s2 = staff(a("x", ["first"], availability=Availability.sick), a("new", ["first"]))
    assert auto_assign(offered, s2, Policy(), NOW, offer_round=1)[0] == Assign("new", "auto",
                                                                               "nobody claimed within 40 s")


def test_auto_assign_skips_claimed_or_reoffered_tickets_and_falls_back() -> None:
    s = staff(a("y", ["first"]))
    assert auto_assign(view(status=TicketStatus.assigned, assignee_id="y", offer_round=1), s, Policy(), NOW,
                       offer_round=1) == []
    assert auto_assign(view(status=TicketStatus.offered, line="first", offer_round=2), s, Policy(), NOW,
                       offer_round=1) == []
    nobody = staff(a("y", ["first"], availability=Availability.lunch), a("night", [], shifts=NIGHTS),
                   teams=(TEAM,))
    t = view(status=TicketStatus.offered, line="first", offer_round=1, offered_to=["y"], service_team_id="team-1")
    assert auto_assign(t, nobody, Policy(), NIGHT, offer_round=1)[0] == Assign(
        "night", "night_shift", "nobody of service team team-1 available on line first")


def test_least_loaded_auto_assign() -> None:
    t = view(status=TicketStatus.offered, line="first", offer_round=1, offered_to=["x", "y"])
    s = staff(a("x", ["first"]), a("y", ["first"]))
    policy = Policy(strategy="least_loaded")
    assert auto_assign(t, s, policy, NOW, offer_round=1, loads={"x": 4, "y": 2})[0].agent_id == "y"  # type: ignore[union-attr]
    assert auto_assign(t, s, policy, NOW, offer_round=1, loads={"x": 0, "y": 2})[0].agent_id == "x"  # type: ignore[union-attr]


def test_claim_timeout_per_urgency() -> None:
    p = Policy(claim_timeout=timedelta(seconds=40), claim_timeout_by_urgency={"urgent": timedelta(seconds=10)})
    assert p.timeout_for("urgent") == timedelta(seconds=10) and p.timeout_for("normal") == timedelta(seconds=40)


def test_message_into_a_ticket_whose_assignee_is_away_alerts_and_reoffers() -> None:
    t = view(status=TicketStatus.in_progress, assignee_id="x", line="first", service_team_id="team-1")
    s = staff(a("x", ["first"], availability=Availability.vacation), a("y", ["first"]), a("z", ["first"]),
              a("lead", ["first"], roles=[Role.team_lead]), teams=(TEAM,))
    actions = lost(t, s, Policy(), NOW)
    assert actions == [
        Alert(("lead",), "assignee_unavailable", "x", "assignee x is vacation", "team-1"),
        Flag("lost", True, "assignee x is vacation"),
        Offer(("lead",), "first", None, "team-1", "assignee_unavailable"),  # of the team only (y, z are not)
    ]
    here = staff(a("x", ["first"]), a("y", ["first"]))
    assert lost(t, here, Policy(), NOW) == []  # assignee is here: nothing to do
    assert lost(view(status=TicketStatus.offered, line="first"), s, Policy(), NOW) == []
    off_shift = staff(a("x", ["first"], shifts=DAY), a("y", ["first"]))
    assert lost(t, off_shift, Policy(), NIGHT)[0] == Alert((), "assignee_unavailable", "x",
                                                           "assignee x is off shift", "team-1")
    alone = staff(a("x", ["first"], availability=Availability.sick))
    assert [type(x) for x in lost(t, alone, Policy(), NOW)] == [Alert, Flag]  # nobody to offer: the lead decides


def test_team_leads_from_team_group_or_line() -> None:
    s = staff(a("lead", ["first"], roles=[Role.team_lead]), a("l2", ["second"], roles=[Role.team_lead]),
              teams=(TEAM,), groups=GROUPS)
    assert team_leads(view(service_team_id="team-1", group_id="g-first"), s) == ["glead", "lead"]
    assert team_leads(view(), s, "second") == ["l2"]
    assert team_leads(view(), s) == []


def test_flags_routing_raised_come_down_once_someone_has_the_ticket() -> None:
    flagged = view(status=TicketStatus.assigned, assignee_id="y", flags={"lost": True, "nobody_available": True,
                                                                          "escalated": True})
    assert settle_flags(flagged) == [Flag("lost", False, "assigned to y"), Flag("nobody_available", False,
                                                                                  "assigned to y")]
    assert settle_flags(view(status=TicketStatus.assigned, assignee_id="y", flags={"lost": False})) == []
    assert settle_flags(view(status=TicketStatus.offered, flags={"lost": True})) == []
