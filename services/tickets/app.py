"""Wiring of the ticket ledger: one consumer group on ``tickets.commands``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.custom_fields import CUSTOM_FIELDS
from shared.runtime.cached import Cached
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Component, Hooks, service_app

from .domain import LedgerRules
from .handlers import LedgerHandler
from .history import history_reader
from .memory import TicketMemory
from .producer_check import producer_check
from .settings import TicketsSettings
from .store import INDEXES, LedgerStore


class TicketsService:
    def __init__(self, settings: TicketsSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "tickets")
        self.client = mongo_client(settings)
        self.store = LedgerStore(database(self.client, settings), settings.group_commit_ms / 1000)
        self.memory = TicketMemory(self.store)  # its tickets as last written, while it holds their partitions
        self.handler = LedgerHandler(self.memory, self.bus, clock,
                                     LedgerRules(reopen_window=timedelta(seconds=settings.reopen_window_seconds)),
                                     Cached(DirectoryStore(self.store.db, CUSTOM_FIELDS).list,
                                            settings.directory_cache_seconds).get,
                                     history_reader(self.store.db))
        self.consumer = Consumer(self.bus, TICKETS_COMMANDS, "tickets-ledger", self.handler,
                                 verify=producer_check(settings), batch_handler=self.handler.batch,
                                 on_assigned=self.memory.partitions_changed,
                                 on_revoked=self.memory.partitions_changed)

    def components(self) -> list[Component]:
        """In start order; they stop in reverse."""
        prepare = Hooks(lambda: ensure_topics(self.settings),
                        lambda: ensure_indexes(self.store.db, INDEXES, exclusive=True), stop=self.client.close)
        return [prepare, self.bus, self.consumer]

    def ready(self) -> bool:
        return self.consumer.is_running()


def create_app(settings: TicketsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    service = TicketsService(settings, clock or default_clock())
    app = service_app("tickets", service.components, ready=service.ready,
                      description="The ticket ledger: the only writer of ticket state.")
    app.state.service = service
    return app
