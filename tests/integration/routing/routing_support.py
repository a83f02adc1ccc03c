"""A running desk for routing tests: the real ledger and routing on the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, RequestedLine
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES, Topic, UrgencyRule
from shared.directory.routing import (
    AGENTS,
    GROUPS,
    LINES,
    SERVICES,
    TEAMS,
    Agent,
    Group,
    Line,
    ServiceNode,
    ServiceTeam,
)
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, eventually, make_settings, running

SEEDED = datetime(2026, 1, 1, tzinfo=UTC)
LINES_ORDER = ("first", "second", "third", "development")
_DIRS = {Agent: AGENTS, ServiceTeam: TEAMS, Group: GROUPS, ServiceNode: SERVICES, Line: LINES, Topic: TOPICS,
         UrgencyRule: URGENCY_RULES}


@dataclass
class Desk:
    clock: ManualClock
    bus: KafkaBus
    db: AsyncDatabase
    events: Tap
    alerts: Tap
    routing: Any

    async def put(self, *items: BaseModel) -> None:
        for item in items:
            await DirectoryStore(self.db, _DIRS[type(item)]).put(item, actor="test", at=SEEDED)  # type: ignore[arg-type]

    async def send(self, ticket_id: str, cmd: Message, *, id: str | None = None) -> Envelope:
        env = envelope_for(cmd, ticket_id, occurred_at=self.clock.now(), actor="test", id=id)
        await self.bus.publish(TICKETS_COMMANDS, env)
        return env

    async def open(self, ticket_id: str, *, requested_line: RequestedLine | None = RequestedLine.plain,
                   team: str | None = None, **fields: Any) -> Envelope:
        client = ClientRef(client_id=f"client-{ticket_id}", service_team_id=team) if team else None
        return await self.send(ticket_id, t.OpenTicket(channel=Channel.web, subject=f"about {ticket_id}",
                                                       text="help", requested_line=requested_line, client=client,
                                                       **fields))

    async def wait(self, ticket_id: str, type: str, count: int = 1, timeout: float = 15.0) -> list[Envelope]:
        return await self.events.wait(ticket_id, type, count=count, timeout=timeout)

    async def wait_alert(self, ticket_id: str, type: str, count: int = 1) -> list[Envelope]:
        return await self.alerts.wait(ticket_id, type, count=count)

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        doc = await self.db["tickets"].find_one({"_id": ticket_id}, {"history": 0})
        assert doc is not None, ticket_id
        return dict(doc)

    async def settled(self, ticket_id: str, check: Any, message: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            doc = await self.db["tickets"].find_one({"_id": ticket_id}, {"history": 0})
            return doc if doc is not None and check(doc) else None
        return await eventually(probe, message=message)

    async def applied(self, ticket_id: str, event: Envelope) -> None:
        """Wait until routing has applied ``event``: whatever it sent in reply is on ``tickets.commands`` by then."""
        async def probe() -> bool:
            view, _ = await self.routing.projection.get(ticket_id)
            return view is not None and event.id in view.applied
        await eventually(probe, message=f"routing applied {event.type} on {ticket_id}")

    async def pending_timers(self, ticket_id: str) -> int:
        return await self.db["routing_timers"].count_documents({"ticket_id": ticket_id, "fired": False})


@asynccontextmanager
async def desk(env: dict[str, str], clock: ManualClock, *, lines: bool = True,
               **routing: Any) -> AsyncIterator[Desk]:
    """Ledger + routing in-process on one manual clock, with taps on tickets.events and routing.events."""
    rsettings = make_settings(RoutingSettings, env, **{"directory_cache_seconds": 0, "timer_interval_seconds": 0.05,
                                                       **routing})
    ledger = tickets_app(make_settings(TicketsSettings, env), clock=clock)
    router = routing_app(rsettings, clock=clock)
    client = mongo_client(rsettings)
    db = database(client, rsettings)
    bus = KafkaBus(rsettings, "test")
    async with running(ledger), running(router), Tap(rsettings, TICKETS_EVENTS) as events, \
            Tap(rsettings, ROUTING_EVENTS) as alerts:
        await bus.start()
        d = Desk(clock, bus, db, events, alerts, router.state.router)
        if lines:
            await d.put(*(Line(id=ln, order=i) for i, ln in enumerate(LINES_ORDER, start=1)))
        try:
            yield d
        finally:
            await bus.stop()
            await client.close()
