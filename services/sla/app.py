"""Wiring of the SLA processor: a faust agent on ``tickets.events`` and a Mongo-backed timer loop in batch mode."""

from __future__ import annotations

import time
from functools import partial

from fastapi import FastAPI

from shared.runtime.clock import Clock, default_clock
from shared.runtime.group_leave import worker_name
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Component, Hooks, Periodic, service_app
from shared.runtime.timer_loop import IDLE_MAX_SECONDS, TimerLoop

from .batch import handle_many
from .handlers import SlaHandler
from .memory import KeptClocks
from .settings import SlaSettings
from .store import INDEXES, ClockStore, DirectoryCache
from .stream import FaustStream

# How long the outbox sweep rests at most while it finds nothing: it bounds only how late a left-behind event
# outbox (a crash between its publish and its clear, or a lost race) goes out when no event of that ticket comes.
SWEEP_REST_MAX_SECONDS = 30.0


class SlaService:
    def __init__(self, settings: SlaSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "sla")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = ClockStore(self.db)
        self.directory = DirectoryCache(self.db, settings.directory_cache_seconds,
                                        settings.deadline_reminder_offsets_seconds, settings.default_warning_share)
        self.kept = KeptClocks(settings.kept_clocks)
        self.handler = SlaHandler(self.store, self.directory, self.bus, clock, self.kept)
        self.stream = FaustStream(settings, self.bus, self.handler.handle, group=settings.consumer_group,
                                  commit_interval=settings.commit_interval_seconds,
                                  buffer_maxsize=settings.stream_buffer_maxsize,
                                  group_instance_id=settings.group_instance_id,
                                  worker=worker_name(settings.http_port) if settings.leave_stale_member else None,
                                  batch=partial(handle_many, self.handler),
                                  batch_window=settings.batch_window_seconds, batch_max=settings.batch_max)
        self.timers = TimerLoop(self.store.timers, clock, fire_many=self.handler.fire_many, batch=settings.timer_batch,
                                interval=settings.tick_interval_seconds, owned=self.stream.owned_partitions,
                                idle_max=IDLE_MAX_SECONDS)
        self.stream.on_revoke.append(self.timers.quiesce)
        self.stream.on_revoke.append(self.kept.partitions_changed)
        self.stream.on_assign.append(self.kept.partitions_changed)
        self._swept: set[int] = set()  # partitions the last sweep covered, its rest and when it ends
        self._sweep_rest, self._sweep_next = settings.sweep_interval_seconds, 0.0
        self.sweeper = Periodic("sla-outbox-sweep", settings.sweep_interval_seconds, self._sweep)
        self.gauge = Periodic("sla-pending-gauge", settings.pending_gauge_seconds or 1.0, self._gauge)

    def components(self) -> list[Component]:
        """In start order; they stop in reverse, the timers' drain first: no batch or sweep is cut in half
        (between its publish and its outbox clear, which would make the next owner publish it again)."""
        prepare = Hooks(lambda: ensure_topics(self.settings), lambda: ensure_indexes(self.db, INDEXES, exclusive=True),
                        stop=self.client.close)
        gauge = [self.gauge] if self.settings.pending_gauge_seconds else []
        return [prepare, self.bus, self.stream, self.timers, self.sweeper, *gauge, Hooks(stop=self.timers.drain)]

    async def _sweep(self) -> None:
        """Publish outboxes a crashed run left behind (under the timer loop's lock: fenced like a batch).

        Only an event's outbox can be left (a timer pass's is published again by its timers, which stay due until
        marked), and only by a crash or a lost race, so the sweep rests longer each round it finds nothing: an idle
        desk does not query for them every second. New partitions (a restart, a rebalance) are swept at once."""
        async with self.timers.busy:
            owned = self.stream.owned_partitions()
            if self.timers.stopping or (owned == self._swept and time.monotonic() < self._sweep_next):
                return
            found = await self.handler.flush_pending(owned)
        self._swept = owned
        self._sweep_rest = (self.settings.sweep_interval_seconds if found or not owned else
                            min(self._sweep_rest * 2, SWEEP_REST_MAX_SECONDS))
        self._sweep_next = time.monotonic() + self._sweep_rest

    async def _gauge(self) -> None:
        """Recount pending timers, apart from the sweep: the count grows with open tickets (see settings)."""
        await self.handler.refresh_gauge()

    def ready(self) -> bool:
        return self.stream.is_running() and self.timers.is_running()


def create_app(settings: SlaSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SlaSettings()
    service = SlaService(settings, clock or default_clock())
    app = service_app("sla", service.components, ready=service.ready,
                      description="SLA processor: clocks on business calendars, warnings, breaches, escalations.")
    app.state.service = service
    return app
