"""Wiring of routing: one consumer group on ``tickets.events`` and a timer loop on its partitions."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import Clock, default_clock
from shared.runtime.coalesce import Coalesced
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Component, Hooks, service_app
from shared.runtime.timer_loop import IDLE_MAX_SECONDS, OwnedPartitions, TimerLoop
from shared.runtime.timers import TimerStore

from .directories import StaffReader
from .domain import Policy
from .handlers import RoutingHandler
from .settings import RoutingSettings
from .store import INDEXES, TIMERS, ProjectionStore
from .view_memory import ViewMemory

log = logging.getLogger(__name__)
RETIRED_LINE_MAP = "ROUTING_REQUESTED_LINE_MAP"


def policy_from(settings: RoutingSettings) -> Policy:
    if RETIRED_LINE_MAP in os.environ:
        log.warning("%s is no longer read: name each line's client_choices in the lines directory (docs/lines.md)",
                    RETIRED_LINE_MAP)
    return Policy(
        default_line=settings.default_line,
        strategy=settings.strategy, claim_timeout=timedelta(seconds=settings.claim_timeout_seconds),
        claim_timeout_by_urgency={k: timedelta(seconds=v) for k, v in settings.claim_timeout_by_urgency.items()})


class RoutingService:
    """Timers fire only for the partitions this instance consumes, so one owner fires each ticket's timer."""

    def __init__(self, settings: RoutingSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "routing", transactional=True)  # consume -> publish (KAFKA_TRANSACTIONS)
        self.client = mongo_client(settings)
        db = database(self.client, settings)
        self.db = db
        self.projection = ViewMemory(ProjectionStore(db))  # its views in memory while it holds their partitions
        self.staff = StaffReader(db, settings.directory_cache_seconds)
        self.timers = TimerStore(db[TIMERS], TICKETS_EVENTS.partitions)
        self.handler = RoutingHandler(self.projection, self.staff, self.timers, self.bus, clock, policy_from(settings),
                                      timedelta(seconds=settings.retry_seconds))
        self.owned = OwnedPartitions(self.bus.topic(TICKETS_EVENTS))
        # a partition's fetched records in one call: one read of their views, one write per collection; records
        # that come alone, with those of other partitions fetched within a few ms
        self.joint = Coalesced(self.handler.handle_batch, settings.coalesce_ms / 1000)
        self.consumer = Consumer(self.bus, TICKETS_EVENTS, "routing", self._one,
                                 batch_handler=self.handler.handle_batch,
                                 on_assigned=self._assigned, on_revoked=self._revoked)
        self.loop = TimerLoop(self.timers, clock, self.handler.fire, interval=settings.timer_interval_seconds,
                              owned=self.owned, idle_max=IDLE_MAX_SECONDS)

    async def _one(self, delivery: Any) -> None:
        await self.joint([delivery])

    async def _assigned(self, tps: set[Any]) -> None:
        await self.projection.partitions_changed(tps)
        await self.owned.assigned(tps)

    async def _revoked(self, tps: set[Any]) -> None:
        await self.projection.partitions_changed(tps)
        await self.owned.revoked(tps)

    def components(self) -> list[Component]:
        """In start order; they stop in reverse."""
        prepare = Hooks(lambda: ensure_topics(self.settings), lambda: ensure_indexes(self.db, INDEXES),
                        self.timers.ensure_indexes, stop=self.client.close)
        return [prepare, self.bus, self.consumer, self.loop]

    def ready(self) -> bool:
        return self.consumer.is_running() and self.loop.is_running()


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    service = RoutingService(settings, clock or default_clock())
    app = service_app("routing", service.components, ready=service.ready,
                      description="Routing: offers tickets, first claim wins, auto-assigns, keeps tickets from "
                                  "getting lost.")
    app.state.service = service
    return app
