"""Delivery workers: per-channel pools over the durable queue, retries, outcomes and dead letters.

Each channel has its own feeder (one poller claiming due deliveries in batches) and its own
workers, so a stalled SMTP server ties up only e-mail workers while SMS and chat go on; within
a channel, several workers keep one slow message from holding back other tickets, while one person's
notices about one ticket go one after another, in event order (``ordering.py``). The dispatcher is put together
from its parts by concept: the feeders and queues here, the workers (``sending.py``), the outcomes
(``outcomes.py``) and the recovery of what a crash left (``recovery.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from shared.runtime.clock import Clock
from shared.runtime.kafka import KafkaBus
from shared.runtime.tasks import cancel

from .outcomes import Outcomes, outcome_envelopes
from .pace import Pace
from .recovery import SWEEP_IDLE_MAX_SECONDS, Sweeper
from .sending import LEASE_LEFT_TO_SEND, Sender, Sending
from .settings import NotifySettings
from .store import NotifyStore

__all__ = ["CLAIM_LINGER_SECONDS", "FEEDER_IDLE_MAX_SECONDS", "LEASE_LEFT_TO_SEND", "MARKS_IN_FLIGHT",
           "SWEEP_IDLE_MAX_SECONDS", "Dispatcher", "Sender", "outcome_envelopes"]

log = logging.getLogger(__name__)
# How long an idle feeder rests when told of nothing: every delivery this process writes, reschedules or releases
# wakes it, so this only bounds how late it sees one written by a replica that died before sending it.
FEEDER_IDLE_MAX_SECONDS = 10.0
# A woken feeder lets the deliveries written just behind the one that woke it join its claim (as a producer's linger).
CLAIM_LINGER_SECONDS = 0.02
MARKS_IN_FLIGHT = 256  # sent marks a process may have waiting to be written (its workers wait beyond this)


class Dispatcher(Sending, Outcomes, Sweeper):
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
        leftover = [q.get_nowait() for q in self._queues.values() for _ in range(q.qsize())]
        with contextlib.suppress(Exception):  # only under their own claims: never one claimed elsewhere since
            await asyncio.wait_for(self.store.release([d["_id"] for d in leftover], self.clock.now(),
                                                      [d.get("claim") or "" for d in leftover]), 2)
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

SenderFactory = Callable[[], Sender]
Closer = Callable[[], Awaitable[None]]
