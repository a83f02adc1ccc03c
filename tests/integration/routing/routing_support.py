"""Routing's verbs on the one in-process desk (``tests.support.desk``): the real ledger and routing on the real
broker and database, with a tap on ``routing.events``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, RequestedLine, Sender
from shared.contracts.topics import ROUTING_EVENTS
from shared.directory.routing import Line
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import Tap, eventually

SEEDED = datetime(2026, 1, 1, tzinfo=UTC)
LINES_ORDER = ("first", "second", "third", "development")


class RoutingDesk(Desk):
    async def put(self, *items: BaseModel, at: datetime | None = SEEDED, actor: str = "test") -> None:
        await super().put(*items, at=at, actor=actor)

    @property
    def alerts(self) -> Tap:
        return self.taps[ROUTING_EVENTS.name]

    @property
    def routing(self) -> Any:
        """The routing service object (its projection, handler, timers)."""
        return self.apps["routing"].state.service

    async def open(self, ticket_id: str, *, requested_line: RequestedLine | None = RequestedLine.plain,
                   team: str | None = None, **fields: Any) -> Envelope:
        client = ClientRef(client_id=f"client-{ticket_id}", service_team_id=team) if team else None
        return await self.send(ticket_id, t.OpenTicket(channel=Channel.web, subject=f"about {ticket_id}",
                                                       text="help", requested_line=requested_line, client=client,
                                                       **fields))

    async def wait_alert(self, ticket_id: str, type: str, count: int = 1) -> list[Envelope]:
        return await self.alerts.wait(ticket_id, type, count=count)

    async def applied(self, ticket_id: str, event: Envelope) -> None:
        """Wait until routing has applied ``event``: whatever it sent in reply is on ``tickets.commands`` by then."""
        async def probe() -> bool:
            view, _ = await self.routing.projection.get(ticket_id)
            return view is not None and event.id in view.applied
        await eventually(probe, message=f"routing applied {event.type} on {ticket_id}")

    async def caught_up(self) -> None:
        """Wait until routing's consumer has handled every record ``tickets.events`` holds now (an event its view
        does not record, such as a client's message, included)."""
        published = len(self.events.items)

        async def probe() -> bool:
            return self.routing.consumer.processed >= published
        await eventually(probe, message=f"routing handled the {published} records on tickets.events")

    async def pending_timers(self, ticket_id: str) -> int:
        return await self.db["routing_timers"].count_documents({"ticket_id": ticket_id, "fired": False})


@asynccontextmanager
async def desk(env: dict[str, str], clock: ManualClock, *, lines: bool = True,
               **routing: Any) -> AsyncIterator[RoutingDesk]:
    """Ledger + routing in-process on one manual clock, with taps on tickets.events and routing.events."""
    overrides = {"routing": {"directory_cache_seconds": 0, "timer_interval_seconds": 0.05, **routing}}
    async with running_desk(env, clock, ["routing"], settings=overrides, taps=[ROUTING_EVENTS]) as base:
        d = RoutingDesk(**vars(base))
        if lines:
            await d.put(*(Line(id=ln, order=i) for i, ln in enumerate(LINES_ORDER, start=1)))
        yield d


def client_message(n: int, at: datetime, prefix: str = "m") -> t.ReceiveMessage:
    """The client's e-mail number ``n`` into a ticket (ids from ``prefix``, so two tests' messages never meet)."""
    content = InboundContent(message_id=f"{prefix}{n}", channel=Channel.email, external_id=f"<{prefix}{n}@client>",
                             text="any news?", sender=Sender(email="client@acme.example"), received_at=at)
    return t.ReceiveMessage(channel=Channel.email, content=content)
