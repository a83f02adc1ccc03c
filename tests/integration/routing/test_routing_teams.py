"""A client's service team decides who is offered its tickets, on the real broker, database and ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from routing_support import desk

from shared.directory.routing import Agent, Availability, Role, ServiceTeam, TeamMember
from shared.runtime.clock import ManualClock

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def test_team_tickets_are_offered_to_the_team_and_fall_back_to_its_lead_not_the_line(
        env: dict[str, str]) -> None:
    async with desk(env, ManualClock(MONDAY_NOON), claim_timeout_seconds=3600) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"], team_ids=["A"]),
                    Agent(id="dan", name="Dan", line_ids=["first"]),
                    Agent(id="carol", name="Carol", line_ids=["first"]),
                    Agent(id="lena", name="Lena", roles=[Role.team_lead]),
                    ServiceTeam(id="B", name="B", members=[TeamMember(agent_id="carol"),
                                                           TeamMember(agent_id="lena", role=Role.team_lead)]),
                    ServiceTeam(id="C", name="C", members=[TeamMember(agent_id="lena", role=Role.team_lead)]))
        await d.open("T-b", team="B")
        await d.open("T-plain")
        await d.open("T-c", team="C")  # team C has nobody on the first line: its lead rescues it
        offer = (await d.wait("T-b", "TicketOffered"))[0].payload
        assert offer["agent_ids"] == ["carol"] and offer["service_team_id"] == "B"
        assert (await d.wait("T-plain", "TicketOffered"))[0].payload["agent_ids"] == ["ann", "carol", "dan"]
        rescued = (await d.wait("T-c", "TicketAssigned"))[0].payload
        assert rescued["agent_id"] == "lena" and rescued["mode"] == "team_lead"
        nobody = (await d.wait_alert("T-c", "NobodyAvailable"))[0].payload
        assert nobody["fallback"] == "team_lead" and nobody["agent_id"] == "lena"
        assert not d.events.of("T-c", "TicketOffered")

        await d.put(Agent(id="carol", name="Carol", line_ids=["first"], availability=Availability.sick))
        await d.open("T-b2", team="B")
        assert (await d.wait("T-b2", "TicketAssigned"))[0].payload["agent_id"] == "lena"
        assert not d.events.of("T-b2", "TicketOffered")  # ann and dan are free, and still not offered it
