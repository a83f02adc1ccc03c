"""The console against a real desk (ledger, routing, gateway on the real broker and database): the development
sign-in reads the desk's people from the gateway, an agent sees the ticket offered to him with the counts, the
live stream relays the gateway's events, and a client is refused the work queues in words."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.contacts import Client, ContactPerson
from shared.directory.routing import Agent, Line
from shared.runtime.clock import SystemClock
from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, serving


@pytest_asyncio.fixture(loop_scope="session")
async def desk(env: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    settings = {"routing": {"directory_cache_seconds": 0}}
    async with running_desk(env, SystemClock(), ["routing", "gateway"], front="gateway", settings=settings) as d:
        await d.put(Line(id="first", order=1), Line(id="development", order=99),
                    Agent(id="ann", name="Ann", line_ids=["first"]), Agent(id="bob", name="Bob", line_ids=["first"]),
                    Client(id="C-1", name="Vector"), ContactPerson(id="P-1", client_id="C-1", name="Petra"))
        async with serving(d.app) as gateway_url, \
                serving(create_app(ConsoleSettings(gateway_url=gateway_url, dev_sign_in=True)), lifespan="on") as url:
            yield d, url


async def test_an_agent_sees_the_offer_with_counts_and_live_events(desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=30) as ann:
        await dev_sign_in(ann, "agent:ann")
        home = await ann.get("/", follow_redirects=False)
        assert home.headers["location"] == "/queues/offers"
        await d.send("T-c1", t.OpenTicket(channel=Channel.web, subject="No connection at the office", text="help"))
        await d.wait("T-c1", "TicketOffered", timeout=30)

        async def offered() -> str | None:
            page = await ann.get("/queues/offers", headers=HTML)
            return page.text if page.status_code == 200 and "No connection at the office" in page.text else None
        page = await eventually(offered, timeout=30, message="the offer on ann's queue page")
        assert 'action="/tickets/T-c1/claim"' in page and 'data-href="/tickets/T-c1"' in page
        assert "Signed in as Ann" in page
        # counts: the page does not wait for them; its nav loads /queues/counts, which shows what the gateway says
        assert 'data-live-src="/queues/counts?current=offers" data-live-load' in page
        gw_counts = await d.http.get("/api/v1/queues", headers=d.token("ann", "specialist", lines=["first"]))
        assert gw_counts.status_code == 200, gw_counts.text
        n = gw_counts.json()["counts"]["offers"]
        nav = await ann.get("/queues/counts", params={"current": "offers"}, headers=HTML)
        assert n >= 1 and f'<span class="count" aria-label="{n} tickets">{n}</span>' in nav.text
        rows = await ann.get("/queues/offers/rows", headers=HTML)
        assert "No connection at the office" in rows.text and "<html" not in rows.text

        # /live relays the gateway's stream with ann's token: the next offer arrives as an event
        async with ann.stream("GET", "/live") as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            await d.send("T-c2", t.OpenTicket(channel=Channel.web, subject="Second one", text="help"))

            async def first_event() -> str:
                async for line in live.aiter_lines():
                    if line.startswith("data:") and "T-c2" in line:
                        return line
                return ""
            assert "T-c2" in await asyncio.wait_for(first_event(), timeout=30)


async def test_a_client_is_refused_the_work_queues_in_words(desk: tuple[Desk, str]) -> None:
    _, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=30) as petra:
        await dev_sign_in(petra, "contact:P-1")
        assert (await petra.get("/", follow_redirects=False)).headers["location"] == "/portal"
        page = await petra.get("/queues/offers", headers=HTML)
        assert page.status_code == 403 and "You may not do this: work queues are for staff" in page.text
        assert "Traceback" not in page.text and "problem+json" not in page.headers["content-type"]
