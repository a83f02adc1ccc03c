"""A partition's records in one batch decide exactly what they decide one by one, with one write per kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.routing.handlers import AUTO, RoutingHandler, auto_timer_id
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import ManualClock
from tests.support.fakes import FakeBus
from tests.support.fakes.routing import FakeStaff
from tests.unit.routing.batch_scenario import NOW, POLICY, STAFF, STORED, deliveries
from tests.unit.routing.routing_fakes import BatchProjection, BatchTimers


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
