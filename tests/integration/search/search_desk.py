"""The ledger, the search service and (optionally) the gateway in this loop, on the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.search.app import create_app as search_app
from services.search.settings import SearchSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.ids import new_id
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import isolated_env, make_settings, running

NOW = datetime.now(UTC)


def opening(text: str, subject: str | None = None, client: ClientRef | None = None, email: str | None = None,
            phone: str | None = None) -> t.ReceiveMessage:
    sender = Sender(email=email, phone=phone)
    content = InboundContent(message_id=new_id(), channel=Channel.email, external_id=f"<{new_id()}@x>",
                             subject=subject, text=text, sender=sender, received_at=NOW)
    return t.ReceiveMessage(channel=Channel.email, subject=subject, sender=sender, client=client, content=content)


class SearchDesk:
    def __init__(self, infra: dict[str, str], index_dir: Path) -> None:
        self.env = {**infra, **isolated_env()}
        self.index_dir = index_dir
        self.bus = KafkaBus(make_settings(TicketsSettings, self.env), "test")
        self.search: Any = None
        self.api: httpx.AsyncClient | None = None
        self.db: Any = None

    async def send(self, ticket_id: str, msg: Message) -> None:
        await self.bus.publish(TICKETS_COMMANDS, envelope_for(msg, ticket_id, occurred_at=datetime.now(UTC)))

    @asynccontextmanager
    async def search_running(self, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = make_settings(SearchSettings, self.env, index_dir=str(self.index_dir), **overrides)
        self.search = search_app(settings)
        async with running(self.search), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.search), base_url="http://search/api/v1") as api:
            self.api = api
            yield api

    async def find(self, q: str, scope: dict[str, Any] | None = None, notes: bool = True,
                   **filters: Any) -> dict[str, Any]:
        assert self.api is not None
        resp = await self.api.post("/search", json={"q": q, "scope": scope or {}, "notes": notes,
                                                    "filters": filters})
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def found(self, q: str, **kwargs: Any) -> set[str]:
        return {hit["ticket_id"] for hit in (await self.find(q, **kwargs))["hits"]}

    @asynccontextmanager
    async def gateway(self) -> AsyncIterator[tuple[httpx.AsyncClient, GatewaySettings]]:
        """The gateway asking this desk's search service (in process) for every search."""
        settings = make_settings(GatewaySettings, self.env)
        app = gateway_app(settings, search=httpx.ASGITransport(app=self.search))
        async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                   base_url="http://gw") as http:
            yield http, settings


@asynccontextmanager
async def search_desk(infra: dict[str, str], index_dir: Path) -> AsyncIterator[SearchDesk]:
    """The ledger running, a producer of commands, the database; the search service is started by the test."""
    desk = SearchDesk(infra, index_dir)
    client = mongo_client(make_settings(TicketsSettings, desk.env))
    desk.db = database(client, make_settings(TicketsSettings, desk.env))
    async with running(tickets_app(make_settings(TicketsSettings, desk.env))):
        await desk.bus.start()
        try:
            yield desk
        finally:
            await desk.bus.stop()
            await client.close()
