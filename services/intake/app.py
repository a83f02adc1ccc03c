"""Intake wiring: webhooks publish to ``inbound.messages``; one consumer turns them into commands;
mailbox pollers feed the same pipeline; a ``tickets.events`` consumer keeps conversations in step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI

from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_EVENTS
from shared.runtime.bodylimit import BodyLimit
from shared.runtime.clamd import scanner_status
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.problems import ProblemError
from shared.runtime.service import Component, Hooks, Together, service_app

from .batch import InboundBatch
from .domain import message_id
from .doors import Doors
from .handlers import INDEXES, InboundHandler, InvalidInbound, Pipeline, TicketEventsHandler
from .imap import MailPoller
from .scans import IntakeScans
from .settings import IntakeSettings
from .store import IntakeStore
from .webhooks import router

log = logging.getLogger("intake")


class IntakeService:
    def __init__(self, settings: IntakeSettings, clock: Clock) -> None:
        self.settings = settings
        self.doors = Doors(settings, clock)
        self.bus = KafkaBus(settings, "intake")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.scans = IntakeScans(self.db, self.bus, clock, settings)
        self.store = IntakeStore(self.db, settings.directory_cache_seconds, self.scans.new_scan)
        self.pipeline = Pipeline(self.store, self.bus, clock, domain=settings.mail_domain,
                                 region=settings.default_region, rule=settings.ticket_rule,
                                 reopen_window=timedelta(seconds=settings.reopen_window_seconds))
        self.inbound = Consumer(self.bus, INBOUND_MESSAGES, "intake-inbound", InboundHandler(self.pipeline),
                                decoder=InboundMessage.model_validate_json, batch_handler=InboundBatch(self.pipeline))
        ticket_events = TicketEventsHandler(self.pipeline)
        forget = ticket_events.partitions_changed  # what it remembers of its partitions' tickets
        self.events = Consumer(self.bus, TICKETS_EVENTS, "intake-ticket-events", ticket_events,
                               on_assigned=forget, on_revoked=forget)
        self.pollers = [MailPoller(box, self.pipeline, self.store, settings) for box in settings.mailboxes]

    def components(self) -> list[Component]:
        """In start order; they stop in reverse."""
        prepare = Hooks(self._say_closed_doors, lambda: ensure_topics(self.settings),
                        lambda: ensure_indexes(self.db, INDEXES), stop=self.client.close)
        return [prepare, self.bus, self.scans, Together(self.inbound, self.events), *self.pollers]

    async def _say_closed_doors(self) -> None:
        if closed := self.doors.unconfigured():
            log.warning("doors not configured, %s: %s", "refused (503)" if self.settings.production
                        else "open to loopback callers only", ", ".join(closed))

    def ready(self) -> bool:
        return self.inbound.is_running() and self.events.is_running() and self.scans.running()

    async def accept(self, msg: InboundMessage) -> str:
        """Check size, directories and the sender's quota, then publish to the main door; the id is stable per
        external id. Every refusal happens here, before publishing: a 202 means the message will be processed."""
        mid = message_id(msg)
        msg = msg.model_copy(update={"message_id": mid})
        raw, limit = msg.model_dump_json().encode(), self.settings.max_message_bytes
        if len(raw) > limit:
            raise ProblemError(413, "Content Too Large", f"the message would be {len(raw)} bytes on "
                               f"inbound.messages, whose records are limited to {limit} bytes", limit=limit)
        try:
            await self.pipeline.validate(msg)
        except InvalidInbound as exc:
            raise ProblemError(422, "Invalid classification", str(exc)) from exc
        self.doors.charge_sender(msg)
        await self.bus.publish_raw(self.bus.topic(INBOUND_MESSAGES), msg.key().encode(), raw)
        return mid


def body_limit(settings: IntakeSettings) -> Callable[[str], int]:
    """Attachments may be larger than webhook bodies (multipart framing around the file included)."""

    def limit(path: str) -> int:
        if path.rstrip("/").endswith("/attachments"):
            return settings.max_attachment_bytes + 64 * 1024
        return settings.max_body_bytes

    return limit


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    service = IntakeService(settings, clock or default_clock())
    scanning = scanner_status(settings, settings.production)
    app = service_app("intake", service.components, ready=service.ready, details=lambda: scanning,
                      description="Channel adapters: every client message in (webhooks, e-mail, other systems).")
    app.state.service = service
    app.include_router(router(service))
    app.add_middleware(BodyLimit, limit=body_limit(settings))
    return app
