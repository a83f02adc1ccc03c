"""Wiring of the SLA processor: a faust agent on ``tickets.events`` and a Mongo-backed timer loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

from fastapi import FastAPI

from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Periodic, service_app
from shared.runtime.timers import Timer, TimerLoop, TimerStore

from .handlers import SlaHandler
from .settings import SlaSettings
from .store import INDEXES, ClockStore, DirectoryCache
from .stream import FaustStream


class PartitionedTimerStore(TimerStore):
    """The shared store, fetching up to one firing batch of due timers per tick."""

    def __init__(self, base: TimerStore, batch: int) -> None:
        super().__init__(base.col, base.partitions)
        self.batch = batch

    async def due(self, now: datetime, partitions: Iterable[int] | None, limit: int = 500) -> list[Timer]:
        return await super().due(now, partitions, self.batch)


log = logging.getLogger(__name__)


class BatchTimerLoop(TimerLoop):
    """The shared TimerLoop, but each tick's due timers are fired together.

    ``fire_many`` gets the tick's due timers (earliest first) and returns the ids it is done with; they are
    then marked fired in one write. As in the shared loop a timer is marked only after its effect, so a
    crash re-fires it (same envelope ids) and never skips it. The next tick follows at once only while a
    full batch came due (a backlog), otherwise after ``interval``.
    """

    def __init__(self, store: PartitionedTimerStore, clock: Clock,
                 fire_many: Callable[[Sequence[Timer]], Awaitable[list[str]]],
                 mark_fired: Callable[[Sequence[str], datetime], Awaitable[None]], *, interval: float = 0.1,
                 owned: Callable[[], set[int] | None] | None = None, drain_seconds: float = 10.0) -> None:
        super().__init__(store, clock, self._fire_one, interval=interval, owned=owned)
        self.batch, self.fire_many, self.mark_fired, self._full = store.batch, fire_many, mark_fired, False
        self.drain_seconds = drain_seconds
        self.busy = asyncio.Lock()  # held by a firing batch (and by the outbox sweep): see quiesce
        self.stopping = False

    async def _fire_one(self, timer: Timer) -> None:
        await self.fire_many([timer])

    async def quiesce(self) -> None:
        """Wait for the batch in flight (a rebalance calls this after fencing ownership off)."""
        async with self.busy:
            pass

    async def drain(self) -> None:
        """Start no further batch and wait (bounded) for the one in flight, so a stop never cuts a batch
        between its publish and its outbox clear, which would make the next owner publish it again."""
        self.stopping = True
        try:
            async with asyncio.timeout(self.drain_seconds):
                await self.quiesce()
        except TimeoutError:
            log.warning("sla timer batch still running at stop", extra={"seconds": self.drain_seconds})

    async def stop(self) -> None:
        await self.drain()
        await super().stop()

    async def tick(self) -> int:
        async with self.busy:
            if self.stopping:
                return 0
            return await self._tick()

    async def _tick(self) -> int:
        owned = self.owned()
        self._full = False
        if owned is not None and not owned:
            return 0
        due = await self.store.due(self.clock.now(), owned)
        if not due:
            return 0
        done = await self.fire_many(due)
        await self.mark_fired(done, self.clock.now())
        self.fired += len(done)
        self._full = len(due) >= self.batch
        return len(done)

    def _more_due(self, fired: int) -> bool:
        return bool(fired) and self._full


class SlaWorker:
    def __init__(self, settings: SlaSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "sla")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = ClockStore(self.db)
        self.directory = DirectoryCache(self.db, settings.directory_cache_seconds,
                                        settings.deadline_reminder_offsets_seconds, settings.default_warning_share)
        self.handler = SlaHandler(self.store, self.directory, self.bus, clock)
        self.stream = FaustStream(settings, self.bus, self.handler.handle, group=settings.consumer_group,
                                  commit_interval=settings.commit_interval_seconds,
                                  buffer_maxsize=settings.stream_buffer_maxsize)
        self.timers = BatchTimerLoop(PartitionedTimerStore(self.store.timers, settings.timer_batch), clock,
                                     self.handler.fire_many, self.store.mark_fired_many,
                                     interval=settings.tick_interval_seconds, owned=self.stream.owned_partitions)
        self.stream.on_revoke.append(self.timers.quiesce)
        self.sweeper = Periodic("sla-outbox-sweep", settings.sweep_interval_seconds, self._sweep)
        self.gauge = Periodic("sla-pending-gauge", settings.pending_gauge_seconds or 1.0, self._gauge)

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await ensure_indexes(self.db, INDEXES)
        await self.bus.start()
        await self.stream.start()
        await self.timers.start()
        await self.sweeper.start()
        if self.settings.pending_gauge_seconds:
            await self.gauge.start()

    async def _sweep(self) -> None:
        """Publish outboxes a crashed run left behind (under the timer loop's lock: fenced like a batch)."""
        async with self.timers.busy:
            if not self.timers.stopping:
                await self.handler.flush_pending(self.stream.owned_partitions())

    async def _gauge(self) -> None:
        """Recount pending timers, apart from the sweep: the count grows with open tickets (see settings)."""
        await self.handler.refresh_gauge()

    async def stop(self) -> None:
        await self.timers.drain()  # first: no batch or sweep is cut in half by the stops below
        await self.gauge.stop()
        await self.sweeper.stop()
        await self.timers.stop()
        await self.stream.stop()
        await self.bus.stop()
        await self.client.close()

    def ready(self) -> bool:
        return self.stream.is_running() and self.timers.is_running()


def create_app(settings: SlaSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SlaSettings()
    worker = SlaWorker(settings, clock or default_clock())
    app = service_app("sla", lambda: [worker], ready=worker.ready,
                      description="SLA processor: clocks on business calendars, warnings, breaches, escalations.")
    app.state.worker = worker
    return app
