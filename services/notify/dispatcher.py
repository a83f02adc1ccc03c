"""Delivery workers: per-channel pools over the durable queue, retries, outcomes and dead letters.

Each channel has its own feeder (one poller claiming due deliveries in batches) and its own
workers, so a stalled SMTP server ties up only e-mail workers while SMS and chat go on; within
a channel, several workers keep one slow message from holding back other tickets, while one person's
notices about one ticket go one after another, in event order (``ordering.py``).
Outcomes (``NotificationSent``/``NotificationFailed`` and the ledger's
``RecordNotification``) use ids derived from the notification id, and a delivery is marked
published only after the broker acknowledged them, so a crash republishes rather than loses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.contracts.collections import NOTIFY_DELIVERIES
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import notify, tickets
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import Clock, as_utc
from shared.runtime.ids import derived_id
from shared.runtime.kafka import KafkaBus, Poison
from shared.runtime.metrics import NOTIFICATIONS
from shared.runtime.tasks import cancel

from .domain import backoff_delay
from .errors import SendError, transient
from .ordering import HOLD_LIMIT
from .pace import Pace
from .settings import NotifySettings
from .store import NotifyStore

log = logging.getLogger(__name__)
# How long an idle feeder rests when told of nothing: every delivery this process writes, reschedules or releases
# wakes it, so this only bounds how late it sees one written by a replica that died before sending it.
FEEDER_IDLE_MAX_SECONDS = 10.0
# The rest of a sweeper that finds nothing (leases last minutes; a lost outcome waits this long at most).
SWEEP_IDLE_MAX_SECONDS = 15.0
# A worker sends a delivery only while at least this share of its lease is left: one sent as its lease runs out could
# be claimed and sent again by another worker meanwhile. One taken later goes back to the queue at once.
LEASE_LEFT_TO_SEND = 0.25
# A woken feeder lets the deliveries written just behind the one that woke it join its claim (as a producer's linger).
CLAIM_LINGER_SECONDS = 0.02
MARKS_IN_FLIGHT = 256  # sent marks a process may have waiting to be written (its workers wait beyond this)


class Sender(Protocol):
    async def send(self, d: Mapping[str, Any]) -> str: ...
    async def close(self) -> None: ...


def outcome_envelopes(d: Mapping[str, Any], occurred_at: Any) -> tuple[Envelope, Envelope]:
    """The notify event and the ledger command for a delivery's outcome; ids stable across republishing."""
    nid = d["_id"]
    common = dict(notification_id=nid, event_id=d["event_id"], recipient=d["recipient"], channel=d["channel"],
                  template=d["template"])
    event: notify.NotificationSent | notify.NotificationFailed
    if d["status"] == "sent":
        event = notify.NotificationSent(**common)
        record = tickets.RecordNotification(notification_id=nid, recipient=d["recipient"], channel=d["channel"],
                                            outcome="sent")
    else:
        reason = str(d.get("last_error") or "failed")
        event = notify.NotificationFailed(**common, reason=reason, permanent=bool(d.get("permanent")),
                                          attempts=int(d.get("attempts") or 0))
        record = tickets.RecordNotification(notification_id=nid, recipient=d["recipient"], channel=d["channel"],
                                            outcome="failed", detail=reason[:1000])
    ev = envelope_for(event, d["ticket_id"], occurred_at=occurred_at, id=derived_id(nid, "outcome", d["status"]),
                      correlation_id=d["event_id"], actor="notify")
    cmd = envelope_for(record, d["ticket_id"], occurred_at=occurred_at, id=derived_id(nid, "record", d["status"]),
                       correlation_id=d["event_id"], actor="notify")
    return ev, cmd


class Dispatcher:
    def __init__(self, store: NotifyStore, bus: KafkaBus, clock: Clock, settings: NotifySettings,
                 senders: Mapping[str, Callable[[], Sender]], rnd: Callable[[], float] = random.random) -> None:
        self.store, self.bus, self.clock, self.s = store, bus, clock, settings
        self.factories = senders
        self.rnd = rnd
        self._wake = {ch: asyncio.Event() for ch in senders}
        self._tasks: list[asyncio.Task[None]] = []
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._senders: list[Sender] = []
        self._pace = {ch: Pace(self.concurrency(ch), settings.lease_seconds) for ch in senders}
        self._taken = {ch: asyncio.Event() for ch in senders}  # a worker took a delivery: the queue has room
        self._marking: set[asyncio.Task[None]] = set()  # sent marks being written, the workers gone on
        self._marks_free = asyncio.Semaphore(MARKS_IN_FLIGHT)
        self._reserved = {ch: 0 for ch in senders}  # places promised to deliveries being inserted leased (direct.py)
        self._held_back: set[str] = set()  # channels whose due deliveries wait behind others (ordering.py)
        self._claiming: set[str] = set()  # channels whose feeder is reading the queue (it may have read it too early)
        self.delivered = self.published = 0
        self.on_failure: Callable[[dict[str, Any]], Awaitable[None]] | None = None  # wired to the handler

    def concurrency(self, channel: str) -> int:
        return max(1, int(getattr(self.s, f"{channel}_concurrency", 4)))

    def capacity(self, channel: str) -> int:
        """Deliveries a channel keeps leased ahead of its workers (``pace.py``); a feeder claims half of them at once,
        while the other half keeps the workers busy."""
        return self._pace[channel].capacity()

    @property
    def lease_seconds(self) -> float:
        return self.s.lease_seconds

    def reserve(self, channel: str, n: int) -> int:
        """``direct.Workers``: places for deliveries the handler inserts already leased to this process."""
        queue = self._queues.get(channel)
        if queue is None:
            return 0
        k = max(0, min(n, self.capacity(channel) - queue.qsize() - self._reserved[channel]))
        self._reserved[channel] += k
        return k

    def hand(self, channel: str, docs: list[dict[str, Any]], reserved: int) -> None:
        self._reserved[channel] -= reserved
        self._taken[channel].set()  # places not used (a redelivery's) are free again for the feeder
        queue = self._queues.get(channel)
        if queue is None:  # stopped meanwhile: their leases run out, then they go
            return
        for doc in docs:
            queue.put_nowait(doc)

    async def start(self) -> None:
        for ch in self.factories:
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # bounded by capacity(), reservations included
            self._queues[ch] = queue
            self._tasks.append(asyncio.create_task(self._feeder(ch, queue), name=f"notify-{ch}-feeder"))
            for i in range(self.concurrency(ch)):
                sender = self.factories[ch]()
                self._senders.append(sender)
                self._tasks.append(asyncio.create_task(self._worker(ch, queue, sender), name=f"notify-{ch}-{i}"))
        self._tasks.append(asyncio.create_task(self._sweeper(), name="notify-sweeper"))
        self._tasks.append(asyncio.create_task(self._publisher(), name="notify-outcomes"))
        self.store.workers = self

    async def stop(self) -> None:
        self.store.workers = None
        await cancel(*self._tasks)
        self._tasks.clear()
        if self._marking:  # sent: their marks must land, or the lease sends them again
            await asyncio.wait(set(self._marking), timeout=5)
        leftover = [q.get_nowait()["_id"] for q in self._queues.values() for _ in range(q.qsize())]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.store.release(leftover, self.clock.now()), 2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.store.flush_published(), 2)
        self._queues.clear()
        for sender in self._senders:
            with contextlib.suppress(Exception):
                await sender.close()
        self._senders.clear()

    def running(self) -> bool:
        return bool(self._tasks) and all(not tk.done() for tk in self._tasks)

    def wake(self, channels: set[str] | None = None) -> None:
        for ch in set(self._wake) if channels is None else channels:
            if ch in self._wake:
                self._wake[ch].set()

    def _done(self) -> None:
        """A delivery is finished: the next notice in that person's line may go now, on whichever channel waits."""
        self.wake(self._held_back | self._claiming)

    async def _idle(self, channel: str, next_due: datetime | None) -> None:
        """Rest until the earliest pending delivery is due or a new one is told of (``wake``); at most
        ``FEEDER_IDLE_MAX_SECONDS``."""
        ev = self._wake[channel]
        wait = FEEDER_IDLE_MAX_SECONDS if next_due is None else (next_due - self.clock.now()).total_seconds()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ev.wait(), min(max(wait, self.s.poll_interval), FEEDER_IDLE_MAX_SECONDS))
            await asyncio.sleep(CLAIM_LINGER_SECONDS)
        ev.clear()

    async def _room(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> int:
        """Wait until half the queue is free (or it is empty), so that claims come in batches."""
        while queue.qsize() and self._free(channel, queue) < self.capacity(channel) // 2:
            self._taken[channel].clear()
            await self._taken[channel].wait()
        return max(self._free(channel, queue), 1)

    def _free(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> int:
        return self.capacity(channel) - queue.qsize() - self._reserved[channel]

    async def _feeder(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """One poller per channel claims due deliveries in batches, as fast as its workers take them."""
        while True:
            room = await self._room(channel, queue)
            next_due = None
            self._claiming.add(channel)
            try:
                batch, next_due, held_back = await self.store.claim_due(channel, self.clock.now(),
                                                                        self.s.lease_seconds, room)
                (self._held_back.add if held_back else self._held_back.discard)(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming deliveries failed")
                batch = []
            finally:
                self._claiming.discard(channel)
            for doc in batch:
                queue.put_nowait(doc)
            if len(batch) < room:  # it took all that was due: no search for more until told of some (or due)
                await self._idle(channel, next_due)

    async def _worker(self, channel: str, queue: asyncio.Queue[dict[str, Any]], sender: Sender) -> None:
        while True:
            doc = await queue.get()
            self._taken[channel].set()
            if self._too_late(doc):
                await self._give_back(doc)
                continue
            try:
                await self.attempt(doc, sender)
            except asyncio.CancelledError:  # shutting down mid-send: hand it back now rather than at lease expiry
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.store.reschedule(doc["_id"], self.clock.now(), "worker stopped"), 2)
                raise
            except Exception:  # the lease brings it back if we could not even record the outcome
                log.exception("delivery bookkeeping failed", extra={"notification_id": doc["_id"]})

    def _too_late(self, doc: Mapping[str, Any]) -> bool:
        left = doc.get("lease_until")
        return left is not None and \
            (as_utc(left) - self.clock.now()).total_seconds() < self.s.lease_seconds * LEASE_LEFT_TO_SEND

    async def _give_back(self, doc: Mapping[str, Any]) -> None:
        """Back to the queue unsent, if it is still ours (its claim token): never one another worker claimed since."""
        log.warning("lease nearly ran out before a worker took it: back to the queue",
                    extra={"notification_id": doc["_id"]})
        try:
            if await self.store.give_back(doc["_id"], doc.get("claim"), self.clock.now()):
                self.wake({doc["channel"]})
        except Exception:  # its lease runs out and the sweeper gives it back
            log.exception("giving a delivery back failed", extra={"notification_id": doc["_id"]})

    async def attempt(self, doc: dict[str, Any], sender: Sender) -> None:
        started = time.monotonic()
        try:
            response = await sender.send(doc)
        except asyncio.CancelledError:
            raise
        except SendError as exc:
            self._pace[doc["channel"]].sent(time.monotonic() - started)
            await self._failed(doc, exc)
            return
        except Exception as exc:  # an adapter bug or an unexpected library error: retry, do not drop
            await self._failed(doc, transient(f"unexpected: {exc!r}"[:500]))
            return
        self._pace[doc["channel"]].sent(time.monotonic() - started)
        now = self.clock.now()
        provider_id = response if doc["channel"] == "sms" else None
        # The worker goes on to its next mail while the mark is written (with the marks of the others that finish
        # meanwhile, in one write); at most MARKS_IN_FLIGHT wait at once, so none waits anywhere near its lease.
        await self._marks_free.acquire()
        mark = asyncio.create_task(self._mark_sent(doc, now, provider_id, None if provider_id else response[:300]))
        self._marking.add(mark)
        mark.add_done_callback(self._marking.discard)

    async def _mark_sent(self, doc: dict[str, Any], now: datetime, provider_id: str | None,
                         response: str | None) -> None:
        try:
            await self.store.mark_sent(doc["_id"], now, provider_id, response)
        except Exception:  # the lease brings it back: sent again rather than never recorded
            log.exception("delivery bookkeeping failed", extra={"notification_id": doc["_id"]})
            return
        finally:
            self._marks_free.release()
        self.delivered += 1
        self._done()
        NOTIFICATIONS.labels(channel=doc["channel"], outcome="sent").inc()
        self._outbox.put_nowait({**doc, "status": "sent"})

    async def _failed(self, doc: dict[str, Any], exc: SendError) -> None:
        now = self.clock.now()
        attempts = int(doc.get("attempts") or 1)
        if not exc.permanent and attempts < self.s.max_attempts:
            delay = backoff_delay(attempts, self.s.retry_base_seconds, self.s.retry_cap_seconds, self.rnd())
            log.info("delivery will be retried", extra={"notification_id": doc["_id"], "reason": exc.reason,
                                                        "attempt": attempts, "delay": delay})
            await self.store.reschedule(doc["_id"], now + timedelta(seconds=delay), exc.reason)
            self.wake({doc["channel"]})  # a resting feeder looks again and rests until this retry at most
            NOTIFICATIONS.labels(channel=doc["channel"], outcome="retried").inc()
            return
        reason = exc.reason if exc.permanent else f"gave up after {attempts} attempts: {exc.reason}"
        log.warning("delivery failed", extra={"notification_id": doc["_id"], "reason": reason})
        await self.store.mark_failed(doc["_id"], now, reason, exc.permanent)
        self._done()
        NOTIFICATIONS.labels(channel=doc["channel"], outcome="failed").inc()
        self._outbox.put_nowait({**doc, "status": "failed", "last_error": reason, "permanent": exc.permanent,
                                 "attempts": attempts})

    async def publish_outcomes(self, docs: list[dict[str, Any]]) -> None:
        """Publish outcomes in one batch per topic, then mark them published (the sweeper redoes lost ones)."""
        pairs = [outcome_envelopes(d, self.clock.now()) for d in docs]
        await self.bus.publish_many(NOTIFY_EVENTS, [ev for ev, _ in pairs])
        await self.bus.publish_many(TICKETS_COMMANDS, [cmd for _, cmd in pairs])
        for d, (ev, _) in zip(docs, pairs, strict=True):
            if d["status"] == "failed":
                await self.dead_letter(d, ev)
                await self.report(d)
        self.store.published_later([d["_id"] for d in docs])
        self.published += len(docs)

    async def _publisher(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            try:
                await self.publish_outcomes(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # left unpublished in MongoDB: the sweeper publishes them later
                log.exception("publishing outcomes failed")

    async def report(self, d: dict[str, Any]) -> None:
        """Tell the author; a notice that cannot be rendered must not hold up the outcomes behind it."""
        if self.on_failure is None:
            return
        try:
            await self.on_failure(d)
        except Poison as exc:
            log.error("failure notice cannot be rendered", extra={"notification_id": d["_id"], "error": str(exc)})

    async def dead_letter(self, d: Mapping[str, Any], ev: Envelope) -> None:
        """A failed delivery is parked on ``notify.events.dlq`` with its reason, for operators and replay."""
        headers = [("type", ev.type.encode()), ("x-dlq-reason", str(d.get("last_error") or "")[:4000].encode()),
                   ("x-dlq-source-topic", NOTIFY_DELIVERIES.encode()), ("x-notification-id", d["_id"].encode()),
                   ("x-dlq-permanent", str(bool(d.get("permanent"))).lower().encode()),
                   ("x-dlq-failed-at", self.clock.now().isoformat().encode())]
        await self.bus.publish_raw(self.bus.topic(NOTIFY_EVENTS.dead_letter), d["ticket_id"].encode(),
                                   ev.to_bytes(), headers)

    async def sweep(self) -> bool:
        """Recover what a crash or a failed publish left; True when there was something to recover."""
        found = bool(await self.store.release_expired(self.clock.now()))
        if await self.store.release_stale_holds(self.clock.now() - HOLD_LIMIT):
            found = True
        for d in await self.store.unpublished():
            # Leave fresh outcomes to the worker that is publishing them right now (if it fails, the next sweep,
            # however rested, publishes them), and those published whose mark is on its way.
            at = d.get("sent_at") or d.get("failed_at")
            if self.store.publishing(d["_id"]) or (at is not None and (self.clock.now() - at).total_seconds() < 5):
                continue
            found = True
            await self.publish_outcomes([d])
        if found:
            self.wake()
        return found

    async def _sweeper(self) -> None:
        """Sweeps every ``poll_interval * 4`` (at least 1 s) while they find work, else every
        ``SWEEP_IDLE_MAX_SECONDS``: recovery is never urgent and an idle desk stays quiet."""
        base = max(self.s.poll_interval * 4, 1.0)
        try:  # once, off the start's path: it reads every sent and failed delivery
            await self.store.flag_unpublished()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next start tries again
            log.exception("flagging unpublished outcomes failed")
        while True:
            found = True
            try:
                found = await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify sweep failed")
            await asyncio.sleep(base if found else max(base, SWEEP_IDLE_MAX_SECONDS))


SenderFactory = Callable[[], Sender]
Closer = Callable[[], Awaitable[None]]
