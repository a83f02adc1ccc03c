"""The ledger's handler alone: commands in, events out and state stored, on a dict store and a recording bus."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.tickets.domain import LedgerRules
from services.tickets.handlers import LedgerHandler
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import Poison
from tests.support.fakes import FakeBus
from tests.support.fakes.ledger import FakeLedgerStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Ledger = tuple[LedgerHandler, FakeLedgerStore, FakeBus]


@pytest.fixture
def ledger() -> Ledger:
    store, bus = FakeLedgerStore(), FakeBus()
    return LedgerHandler(store, bus, ManualClock(NOW), LedgerRules()), store, bus


def cmd(msg: Message, ticket_id: str = "T-1", id: str | None = None) -> tuple[Envelope, Message]:
    return envelope_for(msg, ticket_id, occurred_at=NOW, actor="test", id=id), msg


def opening(subject: str = "No connection") -> t.OpenTicket:
    return t.OpenTicket(channel=Channel.web, subject=subject, text="down since morning")


async def test_an_opening_command_stores_a_numbered_ticket_and_publishes_its_opening(ledger: Ledger) -> None:
    handler, store, bus = ledger
    env, msg = cmd(opening())
    await handler((env, msg))
    assert bus.types(TICKETS_EVENTS) == ["TicketOpened"]
    opened = bus.on(TICKETS_EVENTS)[0]
    assert (opened.ticket_id, opened.causation_id) == ("T-1", env.id)
    ticket = store.tickets["T-1"]
    assert (ticket.number, ticket.status.value, ticket.subject) == (1, "new", "No connection")
    assert [h["id"] for h in store.history["T-1"]] == [opened.id]
    await handler(cmd(opening("Another"), "T-2"))
    assert store.tickets["T-2"].number == 2


async def test_a_redelivered_command_publishes_the_same_events_again_and_decides_nothing(ledger: Ledger) -> None:
    handler, store, bus = ledger
    delivery = cmd(opening())
    await handler(delivery)
    first = bus.on(TICKETS_EVENTS)
    await handler(delivery)
    again = bus.on(TICKETS_EVENTS)[len(first):]
    assert [e.id for e in again] == [e.id for e in first]
    assert store.last_number == 1 and len(store.history["T-1"]) == 1 and store.tickets["T-1"].version == 1


async def test_a_refused_command_is_rejected_once_and_its_redelivery_repeats_that_rejection(ledger: Ledger) -> None:
    handler, store, bus = ledger
    await handler(cmd(opening()))
    bus.clear()
    claim = cmd(t.ClaimTicket(agent_id="ann"), id="claim-1")
    await handler(claim)
    await handler(claim)
    rejected = bus.on(TICKETS_EVENTS)
    assert [e.type for e in rejected] == ["CommandRejected", "CommandRejected"]
    assert rejected[0].id == rejected[1].id and rejected[0].payload["command_id"] == "claim-1"
    assert store.tickets["T-1"].status.value == "new" and store.tickets["T-1"].version == 1
    assert "claim-1" in store.processed["T-1"] and "claim-1" in store.rejections


async def test_first_claim_wins_on_an_offered_ticket(ledger: Ledger) -> None:
    handler, store, bus = ledger
    await handler(cmd(opening()))
    await handler(cmd(t.OfferTicket(agent_ids=["ann", "bob"], line="first")))
    bus.clear()
    await handler(cmd(t.ClaimTicket(agent_id="ann")))
    await handler(cmd(t.ClaimTicket(agent_id="bob")))
    assert bus.types(TICKETS_EVENTS) == ["TicketAssigned", "CommandRejected"]
    assert bus.on(TICKETS_EVENTS)[1].payload["code"] == "already_claimed"
    assert store.tickets["T-1"].assignee_id == "ann"


async def test_a_sub_ticket_is_opened_by_a_follow_up_command_to_the_child(ledger: Ledger) -> None:
    handler, _, bus = ledger
    await handler(cmd(opening()))
    await handler(cmd(t.OfferTicket(agent_ids=["ann"], line="first")))
    await handler(cmd(t.ClaimTicket(agent_id="ann")))
    await handler(cmd(t.StartWork(agent_id="ann")))
    await handler(cmd(t.OpenSubTicket(child_id="T-1-dev", summary="fix the switch", opened_by="ann")))
    follow = bus.on(TICKETS_COMMANDS)
    assert [(e.type, e.ticket_id) for e in follow] == [("OpenTicket", "T-1-dev")]
    assert follow[0].payload["parent_id"] == "T-1"


async def test_what_is_not_a_ledger_command_is_poison(ledger: Ledger) -> None:
    handler, store, bus = ledger
    with pytest.raises(Poison):
        await handler(cmd(t.CommandRejected(command_id="x", command_type="X", reason="no")))
    assert not bus.published and not store.tickets
