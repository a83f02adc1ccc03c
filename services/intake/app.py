"""Intake wiring: webhooks publish to ``inbound.messages``; one consumer turns them into commands."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.clock import Clock, SystemClock
from shared.kafka import Consumer, KafkaBus, ensure_topics, start_all, stop_all
from shared.mongo import database, ensure_indexes, mongo_client
from shared.runtime import service_app
from shared.schemas.inbound import InboundMessage
from shared.topics import INBOUND_MESSAGES, TICKETS_EVENTS

from .domain import message_id
from .handlers import INDEXES, InboundHandler, TicketEventsHandler
from .settings import IntakeSettings


class Intake:
    def __init__(self, settings: IntakeSettings, clock: Clock) -> None:
        self.settings = settings
        self.bus = KafkaBus(settings, "intake")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.inbound = Consumer(self.bus, INBOUND_MESSAGES, "intake-inbound", InboundHandler(self.db, self.bus, clock),
                                decoder=InboundMessage.model_validate_json)
        self.events = Consumer(self.bus, TICKETS_EVENTS, "intake-ticket-events", TicketEventsHandler(self.db))

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await ensure_indexes(self.db, INDEXES)
        await self.bus.start()
        await start_all(self.inbound, self.events)

    async def stop(self) -> None:
        await stop_all(self.events, self.inbound)
        await self.bus.stop()
        await self.client.close()

    def ready(self) -> bool:
        return self.inbound.is_running() and self.events.is_running()

    async def accept(self, msg: InboundMessage) -> str:
        mid = message_id(msg)
        msg = msg.model_copy(update={"message_id": mid})
        await self.bus.publish_raw(self.bus.topic(INBOUND_MESSAGES), msg.key().encode(),
                                   msg.model_dump_json().encode())
        return mid


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    intake = Intake(settings, clock or SystemClock())
    app = service_app("intake", lambda: [intake], ready=intake.ready,
                      description="Channel adapters: every client message in.")
    app.state.intake = intake

    @app.post("/api/v1/inbound", status_code=202, tags=["inbound"],
              summary="Accept one message from any channel or system")
    async def inbound(msg: InboundMessage, request: Request) -> JSONResponse:
        mid = await intake.accept(msg)
        return JSONResponse({"message_id": mid}, status_code=202)

    return app
