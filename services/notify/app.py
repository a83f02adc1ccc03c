"""Wiring of notify: five consumers that plan and enqueue, per-channel delivery workers, the HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from shared.contracts.topics import FEEDBACK_EVENTS, PORTAL_EVENTS, ROUTING_EVENTS, SLA_EVENTS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.notify import PREFERENCES
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.secrets import require_service_token
from shared.runtime.service import Component, Hooks, Together, service_app

from .api import router, webhook_router
from .attachments import ReplyFiles
from .dispatcher import Dispatcher
from .handlers import NotifyHandler
from .memory import ViewMemory
from .settings import NotifySettings
from .sign_in_mail import SignInMailer
from .sinks import not_ready_because, senders
from .store import INDEXES, DirectoryCache, NotifyStore


class NotifyService:
    def __init__(self, settings: NotifySettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "notify")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = NotifyStore(self.db)
        self.directories = DirectoryCache(self.db, settings.directory_cache_seconds)
        factories = senders(settings, clock.now, ReplyFiles(self.db, settings.mail_attachments_max_bytes))
        self.dispatcher = Dispatcher(self.store, self.bus, clock, settings, factories)
        self.sign_in = SignInMailer(factories["email"], self.directories, clock, settings)
        self.views = ViewMemory(self.store)  # views as last written, while their tickets.events partitions are held
        self.handler = NotifyHandler(self.views, self.directories, self.dispatcher, clock, settings)
        self.dispatcher.on_failure = self.handler.report_failure
        self.consumers = [
            Consumer(self.bus, TICKETS_EVENTS, "notify-tickets", self.handler.on_ticket_event,
                     batch_handler=self.handler.on_ticket_events, on_assigned=self.views.partitions_changed,
                     on_revoked=self.views.partitions_changed),
            Consumer(self.bus, ROUTING_EVENTS, "notify-routing", self.handler.on_event),
            Consumer(self.bus, SLA_EVENTS, "notify-sla", self.handler.on_event),
            Consumer(self.bus, FEEDBACK_EVENTS, "notify-feedback", self.handler.on_event),
            Consumer(self.bus, PORTAL_EVENTS, "notify-portal", self.sign_in.on_link),
        ]

    def components(self) -> list[Component]:
        """In start order; they stop in reverse."""
        prepare = Hooks(lambda: ensure_topics(self.settings), lambda: ensure_indexes(self.db, INDEXES, exclusive=True),
                        DirectoryStore(self.db, PREFERENCES).ensure_indexes, stop=self.client.close)
        return [prepare, self.bus, self.dispatcher, Together(*self.consumers)]

    def ready(self) -> bool:
        return all(c.is_running() for c in self.consumers) and self.dispatcher.running()

    def not_ready_because(self) -> list[str]:
        return not_ready_because(self.settings)


def create_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    require_service_token(settings)  # production without a service token must not start (its API would be shut)
    service = NotifyService(settings, clock or default_clock())
    app = service_app("notify", service.components, ready=service.ready,
                      not_ready_because=service.not_ready_because,
                      description="Notifications: who must know, and delivery by e-mail, SMS, chat and in-app.")
    app.include_router(router(service))
    app.include_router(webhook_router(service))
    app.state.service = service
    return app
