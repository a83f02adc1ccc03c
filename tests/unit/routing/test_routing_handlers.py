"""Routing's handler alone: ticket events and due timers in, commands and alerts out, on in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain import Policy
from services.routing.handlers import AUTO, RETRY, RoutingHandler, auto_timer_id
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, RequestedLine, Sender
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS
from shared.directory.routing import Agent, Line, Staff
from shared.runtime.clock import ManualClock
from shared.runtime.timers import Timer
from tests.support.fakes import FakeBus
from tests.support.fakes.routing import BatchProjection, BatchTimers, FakeStaff

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday morning
LINES = {ln.id: ln for ln in (Line(id="first", order=1), Line(id="second", order=2))}
FIRST_LINE = Staff(agents={a: Agent(id=a, name=a.title(), line_ids=["first"]) for a in ("ann", "bob")}, lines=LINES)


@dataclass
class Routing:
    handler: RoutingHandler
    projection: BatchProjection
    staff: FakeStaff
    timers: BatchTimers
    bus: FakeBus


@pytest.fixture
def routing() -> Routing:
    projection, staff, timers, bus = BatchProjection(), FakeStaff(FIRST_LINE), BatchTimers(), FakeBus()
    policy = Policy(claim_timeout=timedelta(seconds=40))
    handler = RoutingHandler(projection, staff, timers, bus, ManualClock(NOW), policy, timedelta(seconds=30))
    return Routing(handler, projection, staff, timers, bus)


def ev(msg: Message, id: str, ticket_id: str = "T-1") -> tuple[Envelope, Message]:
    return envelope_for(msg, ticket_id, occurred_at=NOW, actor="tickets", id=id), msg


OPENED = t.TicketOpened(channel=Channel.web, subject="No connection", number=1, requested_line=RequestedLine.plain)


async def test_an_opened_ticket_is_offered_to_everyone_on_its_line_and_the_view_remembers_the_event(
        routing: Routing) -> None:
    await routing.handler(ev(OPENED, "e-open"))
    offers = routing.bus.on(TICKETS_COMMANDS)
    assert [o.type for o in offers] == ["OfferTicket"]
    assert (sorted(offers[0].payload["agent_ids"]), offers[0].payload["line"]) == (["ann", "bob"], "first")
    assert offers[0].causation_id == "e-open" and offers[0].actor == "routing"
    view, version = await routing.projection.get("T-1")
    assert view is not None and view.applied == ["e-open"] and version == 1


async def test_a_redelivered_event_publishes_the_same_command_ids_and_leaves_the_view_alone(routing: Routing) -> None:
    delivery = ev(OPENED, "e-open")
    await routing.handler(delivery)
    await routing.handler(delivery)
    offers = routing.bus.on(TICKETS_COMMANDS)
    # an opening is decided before its view is read: once as if new, again on the stored view once its insert is
    # refused; every time with the same id
    assert len(offers) == 3 and {o.id for o in offers} == {offers[0].id}
    assert (await routing.projection.get("T-1"))[1] == 1
    assert routing.projection.reads == 1, "the opening read nothing until its insert was refused"


async def test_an_offer_arms_the_auto_assign_timer_and_an_assignment_disarms_it(routing: Routing) -> None:
    await routing.handler(ev(OPENED, "e-open"))
    await routing.handler(ev(t.TicketOffered(agent_ids=["ann", "bob"], line="first"), "e-offer"))
    timer = routing.timers.pending("T-1", AUTO)[auto_timer_id("T-1", 1)]
    assert timer.due_at == NOW + timedelta(seconds=40) and timer.data == {"round": 1}
    await routing.handler(ev(t.TicketAssigned(agent_id="ann", mode="claim"), "e-assign"))
    assert routing.timers.pending("T-1") == {}


async def test_a_due_auto_assign_timer_assigns_one_of_the_offered_agents(routing: Routing) -> None:
    await routing.handler(ev(OPENED, "e-open"))
    await routing.handler(ev(t.TicketOffered(agent_ids=["ann", "bob"], line="first"), "e-offer"))
    routing.bus.clear()
    timer_id = auto_timer_id("T-1", 1)
    tm = routing.timers.timers[timer_id]
    await routing.handler.fire(Timer(timer_id, "T-1", tm.due_at, tm.kind, tm.data, 0))
    assigned = routing.bus.on(TICKETS_COMMANDS)
    assert [a.type for a in assigned] == ["AssignTicket"]
    assert assigned[0].payload["agent_id"] in {"ann", "bob"} and assigned[0].payload["mode"] == "auto"


async def test_nobody_on_the_line_raises_the_flag_and_an_alert_and_schedules_a_retry(routing: Routing) -> None:
    routing.staff.staff = Staff(lines=LINES)
    await routing.handler(ev(OPENED, "e-open"))
    flags = routing.bus.on(TICKETS_COMMANDS)
    assert [(f.type, f.payload["flag"], f.payload["value"]) for f in flags] == [("SetFlag", "nobody_available", True)]
    assert routing.bus.types(ROUTING_EVENTS) == ["NobodyAvailable", "LeadAlerted"]
    retries = routing.timers.pending("T-1", RETRY)
    assert [tm.due_at for tm in retries.values()] == [NOW + timedelta(seconds=30)]


async def test_events_routing_does_not_track_change_nothing(routing: Routing) -> None:
    await routing.handler(ev(t.NoteAdded(author_id="ann", text="called the client"), "e-note"))
    assert routing.bus.published == [] and routing.projection.views == {} and routing.timers.timers == {}


class CountingTimers(BatchTimers):
    def __init__(self) -> None:
        super().__init__()
        self.deletes = 0  # cancel_for_tickets calls: one database delete each

    async def cancel_for_tickets(self, ticket_ids, kinds=None) -> None:  # type: ignore[no-untyped-def]
        self.deletes += 1
        await super().cancel_for_tickets(ticket_ids, kinds)


async def test_a_timer_is_deleted_only_while_one_may_be_pending(routing: Routing) -> None:
    routing.handler.timers = routing.timers = timers = CountingTimers()
    await routing.handler(ev(OPENED, "e-open"))
    await routing.handler(ev(t.TicketOffered(agent_ids=["ann", "bob"], line="first"), "e-offer"))
    assert timers.deletes == 0 and (await routing.projection.get("T-1"))[0].timers  # type: ignore[union-attr]
    await routing.handler(ev(t.TicketAssigned(agent_id="ann", mode="claim"), "e-assign"))
    assert timers.deletes == 1 and timers.pending("T-1") == {}
    stored, _ = routing.projection.views["T-1"]
    assert stored.timers is False  # cleared with the assignment's write
    resolved = t.TicketResolved(agent_id="ann", problem="p", solution="s", channel=Channel.web, sender=Sender())
    for i, msg in enumerate((t.WorkStarted(agent_id="ann"), resolved, t.TicketCompleted(reason="rated"))):
        await routing.handler(ev(msg, f"e-{i}"))
    assert timers.deletes == 1, "nothing pending after the claim: no delete on resolving or completing"


async def test_a_retry_a_timer_schedules_marks_the_view_first_even_if_the_consumer_cleared_it(
        routing: Routing) -> None:
    routing.staff.staff = Staff(lines=LINES)
    await routing.handler(ev(OPENED, "e-open"))
    [retry_id] = routing.timers.pending("T-1", RETRY)
    view, version = await routing.projection.get("T-1")
    assert view is not None and view.timers
    # the consumer cleared the mark meanwhile (a cancel raced the firing)
    await routing.projection.save(view.model_copy(update={"timers": False}), version)
    tm = routing.timers.timers[retry_id]
    await routing.handler.fire(Timer(retry_id, "T-1", tm.due_at, tm.kind, tm.data, 0))
    again = [i for i in routing.timers.pending("T-1", RETRY) if i != retry_id]
    assert again, "nobody still: the firing schedules another retry"
    view, _ = await routing.projection.get("T-1")
    assert view is not None and view.timers, "so a later cancel deletes it"
