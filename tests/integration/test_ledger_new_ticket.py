"""A ``ReceiveMessage`` intake marks as opening a new ticket (``new_ticket``), on the real broker and database: the
ledger inserts it without reading the ticket first, and a ledger killed after its write, started again as a new
process would be (nothing remembered), meets its own tickets with refused inserts and still gives every command
exactly one effect; a wrong hint on an existing ticket appends the message as any other."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import KafkaBus
from tests.support.testing import Tap, eventually, make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICKETS = 12


class Killed(BaseException):
    """Ends the consumer's loop before its offsets are committed, as a dead process would."""


def receive(tid: str, mid: str, new: bool = True) -> Envelope:
    content = InboundContent(message_id=mid, channel=Channel.email, external_id=f"<{mid}@x>", text="down",
                             sender=Sender(email="anna@acme.example"), received_at=NOW)
    return envelope_for(t.ReceiveMessage(channel=Channel.email, content=content, new_ticket=new), tid,
                        occurred_at=NOW, id=mid, actor="client")


async def publish(settings: TicketsSettings, envs: list[Envelope]) -> None:
    bus = KafkaBus(settings, "test")
    await bus.start()
    try:
        await bus.publish_many(TICKETS_COMMANDS, envs)
    finally:
        await bus.stop()


def count_reads(store: Any) -> list[str]:
    """The ids of every ticket ``store`` reads from now on (one by one or many at once)."""
    read: list[str] = []
    load, load_many = store.load, store.load_many

    async def counted_load(tid: str) -> Any:
        read.append(tid)
        return await load(tid)

    async def counted_load_many(tids: set[str]) -> Any:
        read.extend(tids)
        return await load_many(tids)

    store.load, store.load_many = counted_load, counted_load_many
    return read


async def test_new_tickets_open_without_a_read_and_a_killed_ledger_gives_each_message_one_effect(
        env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(TicketsSettings, env)
    # per ticket: its opening message, that message again (an intake redelivery), and a second message that also
    # claims to open it (a wrong hint)
    await publish(settings, [e for i in range(TICKETS) for e in (
        receive(f"T-new-{i}", f"m-{i}"), receive(f"T-new-{i}", f"m-{i}"), receive(f"T-new-{i}", f"m2-{i}"))])
    ledger = tickets_app(settings)
    service = ledger.state.service
    store, write, kills = service.store, service.store.save_batch, []
    read = count_reads(store)

    async def write_then_die(writes: list[Any], recorded: list[Any]) -> None:
        await write(writes, recorded)
        if not kills and any(w.before is None for w in writes):
            kills.append(len(writes))
            service.handler._tried_new.clear()  # a new process knows of no earlier try
            raise Killed

    store.save_batch = write_then_die
    async with running(ledger), Tap(settings, TICKETS_EVENTS) as tap:
        await eventually(lambda: _all_have_two_messages(store.tickets), timeout=90, message="both messages kept")
        stored = [doc async for doc in store.tickets.find({"_id": {"$regex": "^T-new-"}})]
        history_ids = [e["id"] for doc in stored for e in doc["history"]]
        await eventually(lambda: set(history_ids) <= {e.id for e in tap.items}, timeout=60,
                         message="every stored event published")
    assert kills and service.consumer.restarts >= 1
    assert len(stored) == TICKETS and len({d["number"] for d in stored}) == TICKETS
    assert max(Counter(history_ids).values()) == 1
    for doc in stored:
        i = doc["_id"].removeprefix("T-new-")
        assert sorted(doc["processed_commands"]) == sorted([f"m-{i}", f"m2-{i}"])
        assert [e["type"] for e in doc["history"]].count("TicketOpened") == 1
    published = Counter(e.id for e in tap.items if e.ticket_id.startswith("T-new-"))
    assert set(published) == set(history_ids)
    assert read  # the redelivered batch met its own inserts and read those tickets
    assert any("failed, handling its records" in r.message for r in caplog.records)  # a refused insert failed it


async def test_a_fresh_ledger_opens_hinted_tickets_without_reading_them(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    await publish(settings, [receive(f"T-fresh-{i}", f"f-{i}") for i in range(TICKETS)])
    ledger = tickets_app(settings)
    store = ledger.state.service.store
    read = count_reads(store)
    async with running(ledger):
        await eventually(lambda: _count(store.tickets, "^T-fresh-", TICKETS), timeout=60, message="all opened")
    assert read == []


async def _count(tickets: Any, prefix: str, n: int) -> bool:
    return bool(await tickets.count_documents({"_id": {"$regex": prefix}}) == n)


async def _all_have_two_messages(tickets: Any) -> bool:
    n = await tickets.count_documents({"_id": {"$regex": "^T-new-"}, "processed_commands.1": {"$exists": True}})
    return bool(n == TICKETS)
