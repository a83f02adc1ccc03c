"""Intake wiring: webhooks publish to ``inbound.messages``; one consumer turns them into commands;
mailbox pollers feed the same pipeline; a ``tickets.events`` consumer keeps conversations in step."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import Clock, default_clock
from shared.kafka import Consumer, KafkaBus, ensure_topics, start_all, stop_all
from shared.mongo import database, ensure_indexes, mongo_client
from shared.problems import PROBLEM_JSON, ProblemError
from shared.runtime import service_app
from shared.schemas.inbound import InboundMessage
from shared.topics import INBOUND_MESSAGES, TICKETS_EVENTS

from .domain import message_id
from .handlers import INDEXES, InboundHandler, InvalidInbound, Pipeline, TicketEventsHandler
from .imap import MailPoller
from .settings import IntakeSettings
from .store import IntakeStore
from .webhooks import router


class Intake:
    def __init__(self, settings: IntakeSettings, clock: Clock) -> None:
        self.settings = settings
        self.bus = KafkaBus(settings, "intake")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = IntakeStore(self.db, settings.directory_cache_seconds)
        self.pipeline = Pipeline(self.store, self.bus, clock, domain=settings.mail_domain,
                                 region=settings.default_region, rule=settings.ticket_rule,
                                 reopen_window=timedelta(seconds=settings.reopen_window_seconds))
        self.inbound = Consumer(self.bus, INBOUND_MESSAGES, "intake-inbound", InboundHandler(self.pipeline),
                                decoder=InboundMessage.model_validate_json)
        self.events = Consumer(self.bus, TICKETS_EVENTS, "intake-ticket-events", TicketEventsHandler(self.pipeline))
        self.pollers = [MailPoller(box, self.pipeline, self.store, settings) for box in settings.mailboxes]

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await ensure_indexes(self.db, INDEXES)
        await self.bus.start()
        await start_all(self.inbound, self.events)
        for poller in self.pollers:
            poller.start()

    async def stop(self) -> None:
        for poller in self.pollers:
            await poller.stop()
        await stop_all(self.events, self.inbound)
        await self.bus.stop()
        await self.client.close()

    def ready(self) -> bool:
        return self.inbound.is_running() and self.events.is_running()

    async def accept(self, msg: InboundMessage) -> str:
        """Validate against the directories, then publish to the main door; the id is stable per external id."""
        try:
            await self.pipeline.validate(msg)
        except InvalidInbound as exc:
            raise ProblemError(422, "Invalid classification", str(exc)) from exc
        mid = message_id(msg)
        msg = msg.model_copy(update={"message_id": mid})
        await self.bus.publish_raw(self.bus.topic(INBOUND_MESSAGES), msg.key().encode(),
                                   msg.model_dump_json().encode())
        return mid


class BodyLimit:
    """Refuses oversize request bodies with a 413 problem naming the limit, before anything parses them."""

    def __init__(self, app: ASGIApp, settings: IntakeSettings) -> None:
        self.app, self.settings = app, settings

    def limit(self, path: str) -> int:
        if path.rstrip("/").endswith("/attachments"):
            return self.settings.max_attachment_bytes + 64 * 1024  # multipart framing around the file
        return self.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # no (or a false) Content-Length: count while streaming
                    raise HTTPException(413, f"request bodies are limited to {limit} bytes")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        body: dict[str, Any] = {"type": "about:blank", "title": "Content Too Large", "status": 413,
                                "detail": f"request bodies are limited to {limit} bytes", "limit": limit,
                                "instance": scope.get("path")}
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    intake = Intake(settings, clock or default_clock())
    app = service_app("intake", lambda: [intake], ready=intake.ready,
                      description="Channel adapters: every client message in (webhooks, e-mail, other systems).")
    app.state.intake = intake
    app.include_router(router(intake))
    app.add_middleware(BodyLimit, settings=settings)
    return app
