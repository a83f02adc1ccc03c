"""One reader of ``tickets.events`` per gateway process, feeding the ticket copies, action waiters and live streams.

No consumer group: every gateway replica must see every event (a waiter may sit on any
replica), so it assigns all partitions itself and starts at the end. It is positioned
before the process reports ready, so a command sent afterwards cannot slip past.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.catchup import seek_past_history
from shared.runtime.fetch_wait import IDLE_LOOK_MS, AdaptiveConsumer, FetchWait
from shared.runtime.kafka import _client_kwargs, ensure_topics
from shared.runtime.pipeline import Outcome, RawRecord, RecordPipeline
from shared.runtime.settings import CommonSettings
from shared.runtime.tasks import cancel

from ..access.principal import Principal
from ..access.scope import visible

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    principal: Principal
    queue: asyncio.Queue[Envelope | None]
    ticket_id: str | None = None
    types: frozenset[str] = field(default_factory=frozenset)
    dropped: bool = False

    def wants(self, env: Envelope) -> bool:
        return (self.ticket_id is None or env.ticket_id == self.ticket_id) and (
            not self.types or env.type in self.types)


TicketLoader = Callable[[str], Awaitable[dict[str, Any] | None]]


class TicketCopies(Protocol):
    """The gateway's copies of the tickets (queries/views.py)."""

    async def copy_read(self, ticket_ids: Iterable[str]) -> list[dict[str, Any]]: ...

    async def catch_up(self) -> int: ...


class EventHub:
    def __init__(self, settings: CommonSettings, load_ticket: TicketLoader, views: TicketCopies,
                 buffer: int = 1000) -> None:
        self.settings, self.load_ticket, self.views, self.buffer = settings, load_ticket, views, buffer
        self._uncopied: set[str] = set()  # tickets whose copy failed; retried with the next fetch
        self._waiters: dict[str, asyncio.Future[Envelope]] = {}
        # The tickets the current batch's copy read (after its events were published, so at least as new):
        # an answered waiter takes its ticket from here instead of reading it again. Kept for one batch only.
        self._fresh: dict[str, dict[str, Any]] = {}
        self._answered: dict[str, dict[str, Any]] = {}
        self._subscribers: set[Subscriber] = set()
        self._consumer: AdaptiveConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.seen = 0

    async def start(self) -> None:
        await ensure_topics(self.settings, [TICKETS_COMMANDS, TICKETS_EVENTS, TICKETS_COMMANDS.dead_letter,
                                            TICKETS_EVENTS.dead_letter])
        topic = TICKETS_EVENTS.full(self.settings.topic_prefix)
        # the consumers' fetch wait: short while events flow (a waiter hears at once), long while the desk is idle
        consumer = AdaptiveConsumer(**_client_kwargs(self.settings), group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="latest", client_id="frontline-gateway-hub",
                                    fetch_wait=FetchWait.from_settings(self.settings))
        await consumer.start()
        parts = consumer.partitions_for_topic(topic) or set(range(TICKETS_EVENTS.partitions))
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await seek_past_history(consumer, tps)  # now, not lazily at the first fetch; never inside the last batch
        self._consumer = consumer
        copied = await self.views.catch_up()  # after the seek: what changes from now on, the loop copies
        if copied:
            log.info("ticket copies caught up", extra={"tickets": copied})
        self._task = asyncio.create_task(self._run(), name="gateway-event-hub")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        for sub in list(self._subscribers):
            self._close(sub)
        if self._consumer:
            await self._consumer.stop()
            self._consumer = None

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    # ---- action waiters ----

    def expect(self, command_id: str) -> asyncio.Future[Envelope]:
        fut: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._waiters[command_id] = fut
        return fut

    def forget(self, command_id: str) -> None:
        self._waiters.pop(command_id, None)
        self._answered.pop(command_id, None)

    def answered_ticket(self, command_id: str) -> dict[str, Any] | None:
        """The ticket (without history) as the hub copied it when this command's answer came; None if not read."""
        return self._answered.get(command_id)

    # ---- live streams ----

    def subscribe(self, principal: Principal, ticket_id: str | None = None,
                  types: frozenset[str] = frozenset()) -> Subscriber:
        sub = Subscriber(principal, asyncio.Queue(self.buffer), ticket_id, types)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def _close(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        sub.dropped = True
        with contextlib.suppress(asyncio.QueueFull):
            sub.queue.put_nowait(None)

    async def _run(self) -> None:
        assert self._consumer is not None
        pipeline = RecordPipeline(Envelope.from_bytes, self.dispatch, _skip, max_bytes=self.settings.max_message_bytes,
                                  retries=0, service="gateway", topic=TICKETS_EVENTS.name, group="gateway-hub")
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=IDLE_LOOK_MS, max_records=500)
            except KafkaError as exc:
                log.warning("event hub fetch failed", extra={"error": repr(exc)})
                await asyncio.sleep(1)
                continue
            # a key that is no ticket id copies nothing; the record itself goes through the pipeline's checks
            await self._copy({r.key.decode(errors="replace") for records in batches.values() for r in records
                              if r.key})
            try:
                for records in batches.values():
                    for record in records:
                        raw = RawRecord.of(record.topic, record.partition, record.offset, record.key, record.value,
                                           record.headers)
                        if await pipeline.process(raw) is Outcome.handled:
                            self.seen += 1
            finally:
                self._fresh = {}

    async def _copy(self, ticket_ids: set[str]) -> None:
        """Before the waiters hear of it: whoever acted then reads his change in every list."""
        ticket_ids |= self._uncopied
        try:
            self._fresh = {d["_id"]: d for d in await self.views.copy_read(ticket_ids)}
            self._uncopied = set()
        except Exception:  # a database hiccup must not stop the hub; the next fetch retries these
            log.exception("cannot copy tickets for the queues")
            self._uncopied = ticket_ids

    async def dispatch(self, env: Envelope) -> None:
        fresh = self._fresh.get(env.ticket_id)
        if env.causation_id and (fut := self._waiters.get(env.causation_id)) is not None and not fut.done():
            if fresh is not None:
                self._answered[env.causation_id] = fresh
            fut.set_result(env)
        subs = [s for s in self._subscribers if s.wants(env)]
        if not subs:
            return
        try:
            doc = fresh if fresh is not None else await self.load_ticket(env.ticket_id)
        except Exception:  # a database hiccup must not kill the hub; the stream just misses this event
            log.exception("cannot load ticket for live update")
            return
        for sub in subs:
            if doc is None or not visible(sub.principal, doc):
                continue
            try:
                sub.queue.put_nowait(env)
            except asyncio.QueueFull:
                self._close(sub)  # a reader that cannot keep up is disconnected, not allowed to grow memory


async def _skip(record: RawRecord, reason: str) -> None:
    """The hub parks nothing: every replica reads every record, and dead letters are the ledger consumers' job."""
    log.debug("event hub skipped a record", extra={"offset": record.offset, "reason": reason[:200]})
