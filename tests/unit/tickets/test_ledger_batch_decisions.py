"""The ledger's batch path decides exactly as one command at a time does: same events (ids included), same follow-ups,
same stored tickets, history and refusals; in one read and one write where it can, and a crash after its write
leaves a redelivery nothing to decide again."""

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
from tests.support.fakes import FakeBus
from tests.support.fakes.ledger import FakeLedgerStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Delivery = tuple[Envelope, Message]


def cmd(msg: Message, ticket_id: str, id: str) -> Delivery:
    return envelope_for(msg, ticket_id, occurred_at=NOW, actor="test", id=id), msg


def opening(subject: str) -> t.OpenTicket:
    return t.OpenTicket(channel=Channel.web, subject=subject, text="down since morning")


OPEN_1, OPEN_2 = cmd(opening("one"), "T-1", "o1"), cmd(opening("two"), "T-2", "o2")
MIXED: list[Delivery] = [
    OPEN_1, OPEN_2,
    cmd(t.OfferTicket(agent_ids=["ann", "bob"], line="first"), "T-1", "offer-1"),
    cmd(t.ClaimTicket(agent_id="ann"), "T-1", "claim-ann"),
    cmd(t.ClaimTicket(agent_id="bob"), "T-1", "claim-bob"),  # refused: ann was first
    cmd(t.ClaimTicket(agent_id="cid"), "T-9", "claim-missing"),  # no such ticket: refused, looked up first
    OPEN_1,  # redelivered inside the batch: replayed, not decided again
    cmd(t.StartWork(agent_id="ann"), "T-1", "start-1"),
    cmd(t.OpenSubTicket(child_id="C-1", opened_by="ann", summary="fix the router"), "T-1", "sub-1"),
    cmd(t.SetCustomFields(values={"region": "north"}, set_by="ann"), "T-2", "fields-2"),  # reads a directory
    cmd(t.AddNote(author_id="ann", text="checked"), "T-2", "note-2"),
]


def ledger() -> tuple[LedgerHandler, FakeLedgerStore, FakeBus]:
    store, bus = FakeLedgerStore(), FakeBus()
    return LedgerHandler(store, bus, ManualClock(NOW), LedgerRules()), store, bus


def published(bus: FakeBus) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(topic, e.id, e.type, e.payload) for topic, e in bus.published]


def stored(store: FakeLedgerStore) -> tuple[object, ...]:
    return ({k: v.to_doc() for k, v in store.tickets.items()}, store.history, store.processed, store.rejections,
            store.last_number)


async def one_by_one(deliveries: list[Delivery]) -> tuple[FakeLedgerStore, FakeBus]:
    handler, store, bus = ledger()
    for d in deliveries:
        await handler(d)
    return store, bus


async def test_a_batch_publishes_and_stores_what_one_command_at_a_time_does() -> None:
    expected_store, expected_bus = await one_by_one(MIXED)
    handler, store, bus = ledger()
    await handler.batch(MIXED)
    assert published(bus) == published(expected_bus)
    assert stored(store) == stored(expected_store)
    assert "SubTicketOpened" in expected_bus.types(TICKETS_EVENTS) and expected_bus.on(TICKETS_COMMANDS)
    assert "CommandRejected" in expected_bus.types(TICKETS_EVENTS)


async def test_a_batch_of_new_commands_is_one_read_and_one_write() -> None:
    simple = [OPEN_1, OPEN_2, *MIXED[2:5]]
    handler, store, bus = ledger()
    await handler.batch(simple)
    assert (store.batch_reads, store.batch_writes) == (1, 1)
    expected_store, expected_bus = await one_by_one(simple)
    assert published(bus) == published(expected_bus) and stored(store) == stored(expected_store)


class DiesOnPublish(FakeBus):
    async def publish_many(self, spec: object, envs: object) -> None:
        raise ConnectionError("killed after the write, before the publish and the commit")


async def test_a_crash_after_the_batch_write_leaves_the_redelivery_only_replays() -> None:
    simple = [OPEN_1, OPEN_2, *MIXED[2:5]]
    expected_store, expected_bus = await one_by_one(simple)
    store = FakeLedgerStore()
    with pytest.raises(ConnectionError):
        await LedgerHandler(store, DiesOnPublish(), ManualClock(NOW), LedgerRules()).batch(simple)
    again = FakeBus()
    await LedgerHandler(store, again, ManualClock(NOW), LedgerRules()).batch(simple)  # the redelivery
    assert published(again) == published(expected_bus)
    assert stored(store) == stored(expected_store)
