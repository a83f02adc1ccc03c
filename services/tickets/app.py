"""Wiring of the ticket ledger: one consumer group on ``tickets.commands``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import service_app

from .domain import LedgerRules
from .handlers import INDEXES, LedgerHandler, LedgerStore
from .producer_check import producer_check
from .settings import TicketsSettings


class Ledger:
    def __init__(self, settings: TicketsSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "tickets")
        self.client = mongo_client(settings)
        self.store = LedgerStore(database(self.client, settings))
        self.handler = LedgerHandler(self.store, self.bus, clock,
                                     LedgerRules(reopen_window=timedelta(seconds=settings.reopen_window_seconds)))
        self.consumer = Consumer(self.bus, TICKETS_COMMANDS, "tickets-ledger", self.handler,
                                 verify=producer_check(settings))

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await ensure_indexes(self.store.db, INDEXES)
        await self.bus.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.bus.stop()
        await self.client.close()

    def ready(self) -> bool:
        return self.consumer.is_running()


def create_app(settings: TicketsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    ledger = Ledger(settings, clock or default_clock())
    app = service_app("tickets", lambda: [ledger], ready=ledger.ready,
                      description="The ticket ledger: the only writer of ticket state.")
    app.state.ledger = ledger
    return app
