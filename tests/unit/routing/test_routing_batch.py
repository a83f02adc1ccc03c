"""A partition's records in one batch decide exactly what they decide one by one, with one write per kind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest

from services.routing.handlers import AUTO, RETRY, RoutingHandler, auto_timer_id
from services.routing.projection import TicketView
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS
from shared.directory.routing import Agent, Staff
from shared.runtime.clock import ManualClock
from shared.runtime.timers import NotYet, Timer
from tests.support.fakes import FakeBus
from tests.support.fakes.routing import BatchProjection, BatchTimers, FakeStaff
from tests.support.routing_batch import NOW, POLICY, STAFF, STORED, deliveries, ev, opened


def handler() -> tuple[RoutingHandler, BatchProjection, BatchTimers, FakeBus]:
    projection, timers, bus = BatchProjection(), BatchTimers(), FakeBus()
    projection.views[STORED.id] = (STORED.model_copy(deep=True), 1)
    routing = RoutingHandler(projection, FakeStaff(STAFF), timers, bus, ManualClock(NOW), POLICY,
                             timedelta(seconds=30))
    return routing, projection, timers, bus


def outcome(projection: BatchProjection, timers: BatchTimers, bus: FakeBus) -> dict[str, Any]:
    return {
        # per topic: a batch publishes its commands, then its events (no order holds across topics anyway)
        "published": {topic: [e.model_dump() for e in bus.on(topic)] for topic in (TICKETS_COMMANDS, ROUTING_EVENTS)},
        "views": {i: view.model_dump() for i, (view, _) in projection.views.items()},
        "timers": {i: (tm.ticket_id, tm.due_at, tm.kind, tm.data) for i, tm in timers.pending().items()},
    }


async def test_a_batch_decides_as_one_by_one_and_writes_once() -> None:
    one, one_projection, one_timers, one_bus = handler()
    for delivery in deliveries():
        await one(delivery)
    batch, projection, timers, bus = handler()
    await batch.handle_batch(deliveries())

    assert outcome(projection, timers, bus) == outcome(one_projection, one_timers, one_bus)
    assigned = {e.ticket_id: e.payload["agent_id"] for e in bus.on(TICKETS_COMMANDS) if e.type == "AssignTicket"}
    assert assigned["T-1"] == "lead-a" and assigned["T-2"] == "lead-b", "the batch's own assignments count"
    assert list(timers.pending(kind=AUTO)) == [auto_timer_id("T-5", 1)]
    assert projection.writes == 1 and timers.scheduled == [auto_timer_id("T-5", 1)], \
        "one view write; T-6's timer, cancelled later in the batch, never written"
    assert {i: v for i, (_, v) in projection.views.items()} == {"T-old": 2, "T-1": 1, "T-2": 1, "T-3": 1,
                                                                "T-5": 1, "T-6": 1}


async def test_a_message_that_changes_nothing_routing_tracks_is_not_written() -> None:
    routing, projection, _, bus = handler()
    batch = deliveries()
    await routing.handle_batch(batch[3:5])  # T-2 opened and assigned
    writes = projection.writes
    await routing(batch[10])  # the client writes into T-2
    assert projection.writes == writes and bus.on(TICKETS_COMMANDS)[-1].type == "AssignTicket"


class CountingTimers(BatchTimers):
    def __init__(self) -> None:
        super().__init__()
        self.cancel_writes: list[list[str]] = []

    async def cancel_for_tickets(self, ticket_ids: Iterable[str], kinds: Iterable[str] | None = None) -> None:
        self.cancel_writes.append(list(ticket_ids))
        await super().cancel_for_tickets(ticket_ids, kinds)


def on_line_first(timers: BatchTimers) -> tuple[RoutingHandler, FakeBus]:
    bus = FakeBus()
    staff = Staff(agents={"ann": Agent(id="ann", name="Ann", line_ids=["first"])}, lines=STAFF.lines)
    return RoutingHandler(BatchProjection(), FakeStaff(staff), timers, bus, ManualClock(NOW), POLICY,
                          timedelta(seconds=30)), bus


async def test_a_first_offer_deletes_no_timers_and_a_second_offer_deletes_the_first_ones() -> None:
    timers = CountingTimers()
    routing, _ = on_line_first(timers)
    await routing(ev(opened("first"), "e-open", "T-9", 1))
    await routing(ev(t.TicketOffered(agent_ids=["ann"], line="first"), "e-offer-1", "T-9", 2))
    assert timers.cancel_writes == [], "nothing routing set for the ticket before its first offer"
    await routing(ev(t.TicketOffered(agent_ids=["ann"], line="first", round=2), "e-offer-2", "T-9", 3))
    assert timers.cancel_writes == [["T-9"]] and list(timers.pending("T-9")) == [auto_timer_id("T-9", 2)]


async def test_a_retry_outlived_by_an_offer_does_nothing_and_one_ahead_of_its_view_waits() -> None:
    timers = BatchTimers()
    routing, bus = on_line_first(timers)
    await routing(ev(opened("first"), "e-open", "T-9", 1))
    await routing(ev(t.TicketOffered(agent_ids=["ann"], line="first"), "e-offer-1", "T-9", 2))
    bus.clear()
    await routing.fire(Timer("r-old", "T-9", NOW, RETRY, {"reason": "nobody_available", "round": 0}, 0))
    assert bus.published == [], "the ticket was offered since the retry was set"
    with pytest.raises(NotYet):  # its view has not caught up with the offer the retry was set after
        await routing.fire(Timer("r-new", "T-9", NOW, RETRY, {"reason": "nobody_available", "round": 2}, 0))
    await routing.fire(Timer("r-legacy", "T-9", NOW, RETRY, {"reason": "nobody_available"}, 0))
    assert bus.types(TICKETS_COMMANDS) == ["OfferTicket"], "a retry set before rounds were recorded routes as ever"


def test_a_view_saved_before_timers_were_tracked_may_have_some() -> None:
    assert TicketView.from_doc({"_id": "T-old", "status": "offered"}).timers
    assert not TicketView.from_doc({"_id": "T-new", "status": "new", "timers": False}).timers


async def test_a_redelivered_opening_whose_view_is_stored_is_decided_again_on_it() -> None:
    # the opening's view was saved, the offer's effects written but not its view: a kill, then both come again
    timers = BatchTimers()
    routing, bus = on_line_first(timers)
    projection = routing.projection
    assert isinstance(projection, BatchProjection)
    opening, offer = ev(opened("first"), "e-open", "T-9", 1), ev(t.TicketOffered(agent_ids=["ann"], line="first"),
                                                                 "e-offer", "T-9", 2)
    await routing(opening)
    await routing.handle_batch([opening, offer])
    view, version = await projection.get("T-9")
    assert view is not None and view.applied == ["e-open", "e-offer"] and view.offer_round == 1 and version == 2
    assert list(timers.pending("T-9")) == [auto_timer_id("T-9", 1)]
    assert {o.id for o in bus.on(TICKETS_COMMANDS)} == {bus.on(TICKETS_COMMANDS)[0].id}, "one offer, by its id"
