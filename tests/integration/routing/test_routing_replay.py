"""A restarted routing worker must not use up an auto-assign timer on a view its consumer has not replayed yet.

The handler writes the timer before the view (effects first), so a kill in between leaves a due timer and a
view one offer behind. The timer loop of the restarted worker may come first: it has to wait for the replay
(the ticket is then auto-assigned once), not decide on the old view and leave the ticket offered forever.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from routing_support import RoutingDesk, desk

from shared.contracts.topics import TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.clock import ManualClock
from shared.runtime.timers import Patience
from tests.support.testing import eventually

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


async def test_a_due_auto_assign_timer_waits_for_the_view_to_catch_up(env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"]))
        await d.open("T-replay")
        await d.wait("T-replay", "TicketOffered")
        views = d.db["routing_tickets"]
        saved = await eventually(lambda: views.find_one({"_id": "T-replay", "offer_round": 1}),
                                 message="the offer is in routing's view")
        # the view as a kill between the timer write and the view write leaves it: one offer behind
        stale = {**saved, "status": "new", "offer_round": 0, "offered_to": [], "applied": saved["applied"][:-1]}
        await views.replace_one({"_id": "T-replay"}, stale)
        d.routing.projection.forget()  # the kill took routing's memory of its views with it

        clock.advance(41)  # the 40 s claim timeout is past: the timer is due, its offer not in the view
        await asyncio.sleep(1.0)  # ten ticks of the timer loop
        assert not d.events.of("T-replay", "TicketAssigned")
        assert await d.pending_timers("T-replay") == 1, "the timer stays due, not used up"

        await views.replace_one({"_id": "T-replay"}, {**saved, "_v": saved["_v"] + 1})  # the replay caught up
        d.routing.projection.forget()  # written here behind routing's back: its memory holds what it read before
        got = (await d.wait("T-replay", "TicketAssigned"))[0].payload
        assert got["mode"] == "auto" and got["agent_id"] == "ann"
        await eventually(lambda: _none_pending(d), message="the timer marked fired")
        await asyncio.sleep(0.3)
        assert len(d.events.of("T-replay", "TicketAssigned")) == 1


async def _none_pending(d: RoutingDesk) -> bool:
    return await d.pending_timers("T-replay") == 0


async def test_out_of_patience_the_timer_is_dropped_and_the_replayed_offer_schedules_it_again(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        d.routing.handler.patience = Patience(tries=3, seconds=0.2)  # the same rule, shorter bounds
        await d.put(Agent(id="bob", name="Bob", line_ids=["first"]))
        await d.open("T-lost-offer")
        offered = (await d.wait("T-lost-offer", "TicketOffered"))[0]
        views = d.db["routing_tickets"]
        saved = await eventually(lambda: views.find_one({"_id": "T-lost-offer", "offer_round": 1}),
                                 message="the offer is in routing's view")
        stale = {**saved, "status": "new", "offer_round": 0, "offered_to": [], "applied": saved["applied"][:-1]}
        await views.replace_one({"_id": "T-lost-offer"}, stale)
        d.routing.projection.forget()  # the kill took routing's memory of its views with it

        clock.advance(41)
        timers = d.db["routing_timers"]
        await eventually(lambda: _gone(timers, "T-lost-offer"), message="the timer dropped, not marked fired")
        assert not d.events.of("T-lost-offer", "TicketAssigned")

        await d.bus.publish(TICKETS_EVENTS, offered)  # the offer's event replayed (same id)
        got = (await d.wait("T-lost-offer", "TicketAssigned"))[0].payload
        assert got["mode"] == "auto" and got["agent_id"] == "bob"
        await asyncio.sleep(0.3)
        assert len(d.events.of("T-lost-offer", "TicketAssigned")) == 1


async def _gone(timers: Any, ticket_id: str) -> bool:
    return await timers.count_documents({"ticket_id": ticket_id}) == 0
