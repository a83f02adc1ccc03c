"""Broadcast then claim, and auto-assignment, on the real broker and database with the real ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from routing_support import RoutingDesk, desk

from shared.contracts.schemas import tickets as t
from shared.contracts.topics import TICKETS_EVENTS
from shared.directory.routing import Agent, Availability, Shift
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def agents() -> list[Agent]:
    return [
        Agent(id="ann", name="Ann", line_ids=["first"]),
        Agent(id="bob", name="Bob", line_ids=["first"]),
        Agent(id="lunch", name="Lou", line_ids=["first"], availability=Availability.lunch),
        Agent(id="vacation", name="Val", line_ids=["first"], availability=Availability.vacation),
        # Online by status, but their shift is Tuesday only: off shift now.
        Agent(id="tuesday", name="Tue", line_ids=["first"], shifts=[Shift(weekday=1, start="09:00", end="18:00")]),
        Agent(id="second", name="Sec", line_ids=["second"]),
    ]


async def test_first_claim_wins_and_nobody_claims_means_auto_assign_to_an_available_agent(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(*agents())

        # ---- broadcast to every available agent of the line, then two claims at once: exactly one wins.
        opened = await d.open("T-race")
        offered = (await d.wait("T-race", "TicketOffered"))[0]
        assert offered.payload["agent_ids"] == ["ann", "bob"] and offered.payload["line"] == "first"
        assert offered.actor == "routing"
        await asyncio.gather(d.send("T-race", t.ClaimTicket(agent_id="ann")),
                             d.send("T-race", t.ClaimTicket(agent_id="bob")))
        rejected = await d.wait("T-race", "CommandRejected")
        assigned = d.events.of("T-race", "TicketAssigned")
        assert len(assigned) == 1 and assigned[0].payload["mode"] == "claim"
        winner = assigned[0].payload["agent_id"]
        assert winner in ("ann", "bob") and rejected[0].payload["code"] == "already_claimed"
        assert (await d.ticket("T-race"))["assignee_id"] == winner
        # the claim cancels the auto-assign timer once routing has read the assignment (the ledger answered first)
        await eventually(lambda: _no_timers(d, "T-race"), message="auto-assign timer cancelled by the claim")
        assert not d.events.of("T-race", "TicketAssigned")[1:], "and it never fired"

        # A redelivered TicketOpened (same event id) has no second effect.
        first_open = d.events.of("T-race", "TicketOpened")[0]
        raw = KafkaBus(make_settings(CommonSettings, env), "redeliver")
        await raw.start()
        await raw.publish(TICKETS_EVENTS, first_open)
        await raw.stop()

        # ---- nobody claims: auto-assigned after the configured delay (40 s by default), never to someone away.
        tickets = [f"T-auto-{i}" for i in range(6)]
        for tid in tickets:
            await d.open(tid)
        for tid in tickets:
            await d.wait(tid, "TicketOffered")
        clock.advance(39)
        await asyncio.sleep(0.6)  # several timer ticks: nothing is due yet
        assert not any(d.events.of(tid, "TicketAssigned") for tid in tickets)
        # Bob goes on vacation meanwhile: he was offered the tickets but must not get one.
        await d.put(Agent(id="bob", name="Bob", line_ids=["first"], availability=Availability.vacation))
        clock.advance(2)
        for tid in tickets:
            got = (await d.wait(tid, "TicketAssigned"))[0].payload
            assert got["mode"] == "auto" and got["agent_id"] == "ann", got
        for tid in tickets:  # a timer is marked fired after its effect, so the ledger may answer first
            await eventually(lambda tid=tid: _no_timers(d, tid), message=f"{tid}'s fired timer marked")

        # The redelivered TicketOpened made no second offer: the ledger replayed the same event id.
        history = [e.id for e in d.events.of("T-race", "TicketOffered")]
        assert len(set(history)) == 1
        doc = await d.db["tickets"].find_one({"_id": "T-race"}, {"history": 1})
        assert doc is not None and [h["type"] for h in doc["history"]].count("TicketOffered") == 1
        assert opened.ticket_id == "T-race"


async def test_claim_racing_the_auto_assign_keeps_the_claim_and_least_loaded_balances(env: dict[str, str]) -> None:
    """The auto-assign timer firing right after a claim is rejected by the ledger: the claim stands."""
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock, claim_timeout_seconds=5, strategy="least_loaded") as d:
        await d.put(*agents())
        for tid in ("T-busy-1", "T-busy-2"):
            await d.open(tid)
            await d.wait(tid, "TicketOffered")
            await d.send(tid, t.ClaimTicket(agent_id="ann"))
            await d.wait(tid, "TicketAssigned")
        await d.open("T-next")
        await d.wait("T-next", "TicketOffered")
        await d.send("T-next", t.ClaimTicket(agent_id="bob"))  # the claim and the timer race
        clock.advance(6)
        await d.wait("T-next", "TicketAssigned")
        await asyncio.sleep(0.3)
        next_assigned = d.events.of("T-next", "TicketAssigned")
        assert len(next_assigned) == 1 and next_assigned[0].payload["agent_id"] == "bob"
        assert next_assigned[0].payload["mode"] == "claim"
        # Ann has two active tickets, Bob one: the unclaimed ticket goes to Bob.
        await eventually(lambda: d.db["routing_tickets"].count_documents({"assignee_id": {"$in": ["ann", "bob"]}}),
                         message="routing saw the assignments")
        await eventually(lambda: _count(d, 3), message="three assignments projected")
        await d.open("T-third")
        await d.wait("T-third", "TicketOffered")
        clock.advance(6)
        third = (await d.wait("T-third", "TicketAssigned"))[0].payload
        assert third == {"agent_id": "bob", "mode": "auto", "previous_agent_id": None,
                         "reason": "nobody claimed within 5 s", "status_after": "assigned"}


async def _count(d: object, n: int) -> bool:
    return await d.db["routing_tickets"].count_documents({"assignee_id": {"$ne": None}}) >= n  # type: ignore[attr-defined]


async def _no_timers(d: RoutingDesk, ticket_id: str) -> bool:
    return await d.pending_timers(ticket_id) == 0
