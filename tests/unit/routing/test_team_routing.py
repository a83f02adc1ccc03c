"""A client's service team: its tickets are offered and auto-assigned only to the team's specialists on the line;
when none of them is available, the documented fallback (night shift, then a lead, then alert and retry) decides,
never an offer to the whole line."""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.domain import Alert, Assign, Flag, Nobody, Offer, Policy, Retry, auto_assign, lost, route
from services.routing.projection import TicketView
from shared.contracts.schemas.common import RequestedLine, TicketStatus
from shared.directory.routing import Agent, Availability, Role, ServiceTeam, Staff, TeamMember, team_member_ids

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TEAM_A = ServiceTeam(id="A", name="A", members=[TeamMember(agent_id="ann"), TeamMember(agent_id="lea",
                                                                                      role=Role.team_lead)])
TEAM_B = ServiceTeam(id="B", name="B", members=[TeamMember(agent_id="carol"),
                                                TeamMember(agent_id="nina", night_shift=True)])


def agents(**availability: Availability) -> Staff:
    people = [Agent(id="ann", name="Ann", line_ids=["first"]), Agent(id="bob", name="Bob", line_ids=["first"],
                                                                     team_ids=["A"]),  # listed on himself only
              Agent(id="carol", name="Carol", line_ids=["first"]), Agent(id="dan", name="Dan", line_ids=["first"]),
              Agent(id="lea", name="Lea", roles=[Role.team_lead]), Agent(id="nina", name="Nina"),
              Agent(id="dev", name="Dev", line_ids=["development"])]
    people = [p.model_copy(update={"availability": availability.get(p.id, Availability.online)}) for p in people]
    return Staff(agents={p.id: p for p in people}, teams={"A": TEAM_A, "B": TEAM_B})


def ticket(team: str | None, **kw: object) -> TicketView:
    return TicketView(id="T1", requested_line=RequestedLine.plain, service_team_id=team, **kw)  # type: ignore[arg-type]


def test_members_are_the_team_directory_and_the_agents_own_team_lists() -> None:
    s = agents()
    assert team_member_ids(s, "A") == {"ann", "bob", "lea"}
    assert team_member_ids(s, "B") == {"carol", "nina"}
    assert team_member_ids(s, "unknown") == frozenset()


def test_a_team_ticket_is_offered_to_its_team_on_the_line_only() -> None:
    s = agents()
    assert route(ticket("B"), s, Policy(), NOW) == [Offer(("carol",), "first", None, "B", "new")]
    assert route(ticket("A"), s, Policy(), NOW) == [Offer(("ann", "bob"), "first", None, "A", "new")]
    assert route(ticket(None), s, Policy(), NOW) == [Offer(("ann", "bob", "carol", "dan"), "first", None, None,
                                                           "new")]


def test_nobody_of_the_team_on_the_line_takes_the_documented_fallback_not_the_line() -> None:
    s = agents(carol=Availability.sick)
    actions = route(ticket("B"), s, Policy(), NOW)
    assert not any(isinstance(x, Offer) for x in actions)  # ann, bob and dan are free, but not team B's
    assert actions[0] == Assign("nina", "night_shift", "nobody of service team B available on line first")
    assert actions[1] == Nobody("first", None, "night_shift", "nina")
    s = agents(carol=Availability.sick, nina=Availability.vacation)
    assert [type(x) for x in route(ticket("B"), s, Policy(), NOW)] == [Nobody, Alert, Flag, Retry]
    assert route(ticket("ghost"), agents(), Policy(), NOW)[0] == Nobody("first", None, "none")  # unknown team


def test_auto_assign_ignores_offers_outside_the_team() -> None:
    stale = ticket("B", status=TicketStatus.offered, line="first", offer_round=1, offered_to=["ann", "carol", "dan"])
    for i in range(10):
        pick = auto_assign(stale.model_copy(update={"id": f"T{i}"}), agents(), Policy(), NOW, offer_round=1)
        assert pick == [Assign("carol", "auto", "nobody claimed within 40 s")]
    fallback = auto_assign(stale, agents(carol=Availability.lunch), Policy(), NOW, offer_round=1)
    assert fallback[0] == Assign("nina", "night_shift", "nobody of service team B available on line first")


def test_a_lost_team_ticket_is_offered_again_to_the_team_only() -> None:
    working = ticket("A", status=TicketStatus.in_progress, assignee_id="ann", line="first")
    actions = lost(working, agents(ann=Availability.vacation), Policy(), NOW)
    assert actions[-1] == Offer(("bob",), "first", None, "A", "assignee_unavailable")


def test_development_sub_tickets_go_to_the_development_line_whatever_the_clients_team() -> None:
    sub = ticket("B", line="development", parent_id="T0")
    assert route(sub, agents(), Policy(), NOW, reason="sub_ticket") == [
        Offer(("dev",), "development", None, "B", "sub_ticket")]
