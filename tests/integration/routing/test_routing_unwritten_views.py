"""Routing writes its view of a ticket only when something it decides on changes, and deletes timers only when one
may be pending; what it keeps unwritten decides the same once a rebalance or a restart has it read the stored view
(real broker, database and ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing_support import RoutingDesk, client_message, desk

from shared.contracts.schemas import tickets as t
from shared.directory.routing import Agent, Availability
from shared.runtime.clock import ManualClock
from tests.support.testing import db_commands

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
COUNTED = {"view reads": ("routing_tickets", "find"), "view inserts": ("routing_tickets", "insert"),
           "view writes": ("routing_tickets", "update"), "timer deletes": ("routing_timers", "delete")}


def commands() -> dict[str, float]:
    return {name: db_commands(coll, cmd) for name, (coll, cmd) in COUNTED.items()}


async def step(d: RoutingDesk, ticket_id: str, command: t.Command, event: str, count: int = 1) -> None:
    await d.send(ticket_id, command)
    await d.wait(ticket_id, event, count=count)
    await d.caught_up()


async def test_a_ticket_from_open_to_completed_writes_its_view_three_times_and_deletes_one_timer(
        env: dict[str, str]) -> None:
    async with desk(env, ManualClock(MONDAY_10)) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"]))
        before = commands()
        await d.open("T-way")
        await d.wait("T-way", "TicketOffered")
        await d.caught_up()
        assert await d.pending_timers("T-way") == 1  # the offer's auto-assignment
        for command, event in ((t.ClaimTicket(agent_id="ann"), "TicketAssigned"),
                               (t.StartWork(agent_id="ann"), "WorkStarted"),
                               (t.ResolveTicket(agent_id="ann", problem="p", solution="s"), "TicketResolved"),
                               (t.CompleteTicket(reason="no_rating_timeout"), "TicketCompleted")):
            await step(d, "T-way", command, event)
        spent = {k: v - before[k] for k, v in commands().items()}
        # inserted on opening; written on the offer, the claim and the resolution (not on starting work or the
        # completion: the same group of statuses); the timer deleted on the claim only; nothing read back
        assert spent == {"view reads": 0, "view inserts": 1, "view writes": 3, "timer deletes": 1}, spent
        assert await d.pending_timers("T-way") == 0
        stored = await d.db["routing_tickets"].find_one({"_id": "T-way"})
        assert stored is not None and stored["status"] == "resolved" and stored["timers"] is False
        kept, version = await d.routing.projection.get("T-way")
        assert kept is not None and kept.status == "completed" and version == stored["_v"]


async def test_after_a_rebalance_the_stored_view_decides_as_the_kept_one_would(env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"]), Agent(id="bob", name="Bob", line_ids=["first"]))
        await d.open("T-read")
        await d.wait("T-read", "TicketOffered")
        await step(d, "T-read", t.ClaimTicket(agent_id="ann"), "TicketAssigned")
        await step(d, "T-read", t.StartWork(agent_id="ann"), "WorkStarted")
        stored = await d.db["routing_tickets"].find_one({"_id": "T-read"})
        assert stored is not None and stored["status"] == "assigned"  # starting work was kept in memory only
        await d.routing.projection.partitions_changed(set())  # a rebalance: routing forgets what it kept
        reads = db_commands("routing_tickets", "find")

        # Ann leaves and the client writes: a working ticket whose assignee is away, in_progress or assigned alike
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"], availability=Availability.vacation))
        clock.advance(timedelta(minutes=5))
        await d.send("T-read", client_message(1, clock.now(), "um"))
        reoffer = (await d.wait("T-read", "TicketOffered", count=2))[-1].payload
        assert reoffer["agent_ids"] == ["bob"] and reoffer["reason"] == "assignee_unavailable"
        assert (await d.wait_alert("T-read", "LeadAlerted"))[0].payload["reason"] == "assignee_unavailable"
        await d.caught_up()
        assert db_commands("routing_tickets", "find") - reads == 1  # read once after the rebalance, then kept


async def test_an_unwritten_event_redelivered_after_a_crash_changes_nothing(env: dict[str, str]) -> None:
    """A crash after the view was kept unwritten and before the consumer committed: the restarted worker reads
    the stored view and applies the event again; it decides nothing new and writes nothing."""
    async with desk(env, ManualClock(MONDAY_10)) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"]))
        await d.open("T-again")
        await d.wait("T-again", "TicketOffered")
        await step(d, "T-again", t.ClaimTicket(agent_id="ann"), "TicketAssigned")
        await step(d, "T-again", t.StartWork(agent_id="ann"), "WorkStarted")
        await step(d, "T-again", t.ResolveTicket(agent_id="ann", problem="p", solution="s"), "TicketResolved")
        await step(d, "T-again", t.CompleteTicket(reason="no_rating_timeout"), "TicketCompleted")
        events = len(d.events.of("T-again"))
        d.routing.projection.forget()  # the crash took the memory
        before = commands()
        for kind in ("WorkStarted", "TicketCompleted"):
            await d.bus.publish(d.events.spec, d.events.of("T-again", kind)[0])
            await d.wait("T-again", kind, count=2)
        await d.caught_up()
        spent = {k: v - before[k] for k, v in commands().items()}
        assert spent == {"view reads": 1, "view inserts": 0, "view writes": 0, "timer deletes": 0}, spent
        kept, version = await d.routing.projection.get("T-again")
        stored = await d.db["routing_tickets"].find_one({"_id": "T-again"})
        assert kept is not None and stored is not None and kept.status == "completed" and version == stored["_v"]
        assert len(d.events.of("T-again")) == events + 2  # the two redelivered records, nothing since
