"""The console's knowledge base on a real desk (issue 23): the ledger, routing, the knowledge service and the gateway on
the real broker and database (the gateway reaches the knowledge app in process), the gateway served over HTTP and the
console in front with its development sign-in. Rita works line ``first``; contact P-1 is client C-1's. The verbs the
console's knowledge tests share: write and publish an article through the gateway, open a ticket, read a form's CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from integration.knowledge.knowledge_support import article_search, searchable

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.contacts import Client, ContactPerson
from shared.directory.routing import Agent, Line
from shared.runtime.clock import SystemClock
from shared.runtime.ids import new_id
from tests.support.desk import Desk, running_desk
from tests.support.testing import isolated_env, serving

ARTICLES = "/api/v1/knowledge/articles"
WAIT = 60.0  # the machine is loaded: a ceiling, not what is waited


@asynccontextmanager
async def kb_console_desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    env = {**infra, **isolated_env()}
    async with running_desk(env, SystemClock(), ["routing", "knowledge", "gateway"], front="gateway",
                            settings={"routing": {"directory_cache_seconds": 0}}, http_timeout=WAIT) as d:
        knowledge = d.app.state.knowledge  # the gateway's client of the knowledge API: to the app in this loop
        await knowledge.stop()
        knowledge.transport = httpx.ASGITransport(app=d.apps["knowledge"])
        await knowledge.start()
        await d.put(Line(id="first", order=1), Line(id="development", order=99),
                    Agent(id="rita", name="Rita", line_ids=["first"]),
                    Client(id="C-1", name="Vector", category="standard"),
                    ContactPerson(id="P-1", client_id="C-1", name="Petra", emails=["p1@c1.example"]))
        async with article_search(d, env), serving(d.app) as gateway_url, serving(create_app(ConsoleSettings(
                gateway_url=gateway_url, dev_sign_in=True, public_url="https://desk.example")), lifespan="on") as url:
            yield d, url


async def published(d: Desk, title: str, body: str, visibility: str = "public") -> str:
    """An article the administrator writes and publishes through the gateway; its id."""
    admin = d.token("root", "administrator")
    made = await d.http.post(ARTICLES, json={"content": {"en": {"title": title, "body": body}},
                                             "visibility": visibility}, headers=admin)
    assert made.status_code == 201, made.text
    article_id: str = made.json()["id"]
    for action in ("submit", "publish"):
        moved = await d.http.post(f"{ARTICLES}/{article_id}/workflow", json={"action": action}, headers=admin)
        assert moved.status_code == 200, moved.text
    await searchable(d, article_id, title)  # knowledge base searches go to the search service's index
    return article_id


async def offered_ticket(d: Desk, subject: str, text: str) -> str:
    """A web ticket about ``text``, offered on line ``first`` (so in Rita's scope); its id."""
    ticket_id = f"T-{new_id()[:8]}"
    await d.send(ticket_id, t.OpenTicket(channel=Channel.web, subject=subject, text=text))
    await d.wait(ticket_id, "TicketOffered", timeout=WAIT)
    return ticket_id


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def article_stats(d: Desk, article_id: str) -> dict[str, Any]:
    resp = await d.http.get(f"{ARTICLES}/{article_id}/stats", headers=d.token("root", "administrator"))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())
