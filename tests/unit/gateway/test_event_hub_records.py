"""The gateway's event hub reads tickets.events through the shared record pipeline: a record it cannot use (oversize,
undecodable, or one whose dispatch fails) is skipped, never dispatched, and never stops the hub. A fake consumer
stands in for the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from services.gateway.ledger.hub import EventHub
from shared.contracts.envelope import Envelope
from shared.runtime.settings import CommonSettings

LIMIT = 4096


def record(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(topic="tickets.events", partition=0, offset=offset, key=b"T-1", value=value, headers=[])


def event(cause: str, **payload: Any) -> bytes:
    return Envelope(type="NoteAdded", ticket_id="T-1", occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
                    causation_id=cause, payload=payload).to_bytes()


class Copies:
    """The gateway's ticket copies in memory: which ids were copied, in which call; ``fail`` times it breaks."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[set[str]] = []
        self.fail = fail

    async def copy_read(self, ticket_ids: Any) -> list[dict[str, Any]]:
        ids = set(ticket_ids)
        if ids and self.fail:
            self.fail -= 1
            raise RuntimeError("the database is away")
        if ids:
            self.calls.append(ids)
        return [{"_id": i, "version": 1} for i in sorted(ids)]

    async def catch_up(self) -> int:
        return 0


class FakeConsumer:
    """Hands out one batch, then nothing."""

    def __init__(self, records: list[SimpleNamespace]) -> None:
        self.batches = [{("tickets.events", 0): records}]

    async def getmany(self, **_: Any) -> dict[Any, list[SimpleNamespace]]:
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(0.01)
        return {}


async def no_ticket(ticket_id: str) -> None:
    return None


@asynccontextmanager
async def running(hub: EventHub, consumer: FakeConsumer) -> AsyncIterator[asyncio.Task[None]]:
    """The hub reading from ``consumer`` in a task of its own, stopped after the block."""
    hub._consumer = consumer  # type: ignore[assignment]
    task = asyncio.create_task(hub._run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_records_the_hub_cannot_use_are_skipped_and_the_next_one_is_dispatched() -> None:
    hub = EventHub(CommonSettings(max_message_bytes=LIMIT), no_ticket, Copies())
    oversize, after = hub.expect("cmd-oversize"), hub.expect("cmd-after")
    consumer = FakeConsumer([
        record(1, event("cmd-oversize", text="x" * LIMIT)),
        SimpleNamespace(**{**vars(record(2, b"{not an envelope")), "key": b"\xff\xfe not utf-8"}),
        record(3, event("cmd-after")),
    ])
    async with running(hub, consumer) as task:
        env = await asyncio.wait_for(after, timeout=10)
        assert env.causation_id == "cmd-after"
        assert not oversize.done(), "an oversize record is not dispatched"
        assert hub.seen == 1 and not task.done()


async def test_a_dispatch_that_fails_is_skipped_and_the_hub_goes_on() -> None:
    hub = EventHub(CommonSettings(max_message_bytes=LIMIT), no_ticket, Copies())
    seen: list[str | None] = []
    dispatch = hub.dispatch

    async def flaky(env: Envelope) -> None:
        if env.causation_id == "cmd-breaks":
            raise RuntimeError("a subscriber broke")
        seen.append(env.causation_id)
        await dispatch(env)

    hub.dispatch = flaky  # type: ignore[method-assign]
    after = hub.expect("cmd-after")
    async with running(hub, FakeConsumer([record(1, event("cmd-breaks")), record(2, event("cmd-after"))])) as task:
        await asyncio.wait_for(after, timeout=10)
        assert seen == ["cmd-after"] and not task.done()


async def test_a_batch_is_copied_before_its_waiters_hear_and_a_failed_copy_is_retried() -> None:
    copies = Copies(fail=1)
    hub = EventHub(CommonSettings(max_message_bytes=LIMIT), no_ticket, copies)
    first, second = hub.expect("cmd-1"), hub.expect("cmd-2")
    consumer = FakeConsumer([record(1, event("cmd-1"))])
    async with running(hub, consumer):
        await asyncio.wait_for(first, timeout=10)
        assert copies.calls == [], "the first copy failed, and the waiter is answered all the same"
        consumer.batches.append({("tickets.events", 0): [
            SimpleNamespace(**{**vars(record(2, event("cmd-2"))), "key": b"T-2"})]})
        await asyncio.wait_for(second, timeout=10)
        assert "T-1" in copies.calls[0], "the failed ticket is copied at the next fetch"
        assert set().union(*copies.calls) == {"T-1", "T-2"}


async def test_an_answered_waiter_gets_the_ticket_the_batch_copy_read_and_none_when_the_copy_failed() -> None:
    loads: list[str] = []

    async def load(ticket_id: str) -> None:
        loads.append(ticket_id)
        return None

    hub = EventHub(CommonSettings(max_message_bytes=LIMIT), load, Copies(fail=1))
    first, second = hub.expect("cmd-1"), hub.expect("cmd-2")
    consumer = FakeConsumer([record(1, event("cmd-1"))])
    async with running(hub, consumer):
        await asyncio.wait_for(first, timeout=10)
        assert hub.answered_ticket("cmd-1") is None, "the copy failed: the action reads the ticket itself"
        consumer.batches.append({("tickets.events", 0): [record(2, event("cmd-2"))]})
        await asyncio.wait_for(second, timeout=10)
        assert hub.answered_ticket("cmd-2") == {"_id": "T-1", "version": 1}
        assert hub._fresh == {}, "what a batch read is not kept past it"
        hub.forget("cmd-2")
        assert hub.answered_ticket("cmd-2") is None
        assert loads == [], "nobody streams: the hub loads no ticket"
