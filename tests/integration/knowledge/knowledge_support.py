"""The knowledge desk: the ledger, the knowledge service, the search service (its article index, a tantivy index in a
temporary folder: ``article_search``, which other desks use too) and the gateway in front on the real broker and
database, one manual clock; the gateway reaches the knowledge and search apps in process (the search service learns
articles from knowledge.articles, never from the knowledge API). Teams A and B (``seed_directory``), a standard
client C-1 (team A) and a premium one C-2 (team B); the verbs the knowledge tests use."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from integration.gateway.gateway_support import T0, seed_directory

from services.search.app import create_app as search_app
from services.search.settings import SearchSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.contacts import Client
from shared.runtime.clock import ManualClock
from shared.runtime.ids import new_id
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env, make_settings, running

ADMIN, LEAD, SPECIALIST = ("root", "administrator"), ("lea", "team_lead"), ("ann", "specialist")
CLIENT_1, CLIENT_2 = ("P-1", "client", "C-1"), ("P-2", "client", "C-2")  # C-1 standard (team A), C-2 premium (team B)
ARTICLES = "/api/v1/knowledge/articles"
WAIT = 60.0  # the machine is loaded: the ceiling, not what is waited
Who = tuple[str, ...]


@asynccontextmanager
async def knowledge_desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["knowledge", "gateway"], base_url="http://gw",
                            http_timeout=60.0) as d:
        knowledge = d.app.state.knowledge  # the gateway's client of the knowledge API: to the app in this loop
        await knowledge.stop()
        knowledge.transport = httpx.ASGITransport(app=d.apps["knowledge"])
        await knowledge.start()
        await seed_directory(d.db)
        await d.put(Client(id="C-1", name="Vector", service_team_id="A", category="standard"),
                    Client(id="C-2", name="Orbita", service_team_id="B", category="premium"))
        async with article_search(d, env):
            yield d


@asynccontextmanager
async def article_search(d: Desk, env: dict[str, str]) -> AsyncIterator[FastAPI]:
    """The search service beside a desk's knowledge service and gateway (``d.app``), its index in a temporary folder:
    it reads knowledge.articles and the gateway's article searches reach it in process."""
    with tempfile.TemporaryDirectory() as index_dir:
        search = search_app(make_settings(SearchSettings, env, index_dir=index_dir), d.clock)
        d.apps["search"] = search
        client = d.app.state.search
        await client.stop()
        client.transport = httpx.ASGITransport(app=search)
        await client.start()
        async with running(search):
            yield search


def as_(d: Desk, who: Who) -> dict[str, str]:
    if who[1] == "client":
        return d.token(who[0], "client", client_id=who[2])
    return d.token(who[0], who[1])


def article(title: str, body: str = "", visibility: str = "public", **extra: Any) -> dict[str, Any]:
    return {"content": {"en": {"title": title, "body": body}}, "visibility": visibility, **extra}


async def write(d: Desk, data: dict[str, Any], publish: bool = True) -> str:
    """An article written by the administrator, submitted and (``publish``) published by the lead; its id."""
    made = await d.http.post(ARTICLES, json=data, headers=as_(d, ADMIN))
    assert made.status_code == 201, made.text
    article_id: str = made.json()["id"]
    if publish:
        for who, action in ((ADMIN, "submit"), (LEAD, "publish")):
            await step(d, who, article_id, action, expect=200)
        await searchable(d, article_id, next(iter(data["content"].values()))["title"])
    return article_id


async def searchable(d: Desk, article_id: str, words: str) -> None:
    """Wait until the search service's article index has the published article."""
    await eventually(lambda: indexed(d, article_id, words), timeout=WAIT, message=f"article {article_id} indexed")


async def indexed(d: Desk, article_id: str, words: str) -> bool:
    """Whether the search service's article index finds the article by these words for staff."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=d.apps["search"]), base_url="http://s") as http:
        resp = await http.post("/api/v1/articles/search", json={"q": words, "scope": {"audience": "staff"}})
    assert resp.status_code == 200, resp.text
    return article_id in {hit["article_id"] for hit in resp.json()["hits"]}


async def step(d: Desk, who: Who, article_id: str, action: str, expect: int | None = None) -> httpx.Response:
    resp = await d.http.post(f"{ARTICLES}/{article_id}/workflow", json={"action": action}, headers=as_(d, who))
    assert expect is None or resp.status_code == expect, resp.text
    return resp


async def read(d: Desk, who: Who, path: str, **params: Any) -> httpx.Response:
    return await d.http.get(path, params=params, headers=as_(d, who))


async def listed(d: Desk, who: Who, path: str = ARTICLES, **params: Any) -> list[str]:
    resp = await read(d, who, path, **params)
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["items"]]


async def open_ticket(d: Desk, text: str, subject: str, client: ClientRef, at: datetime | None = None) -> str:
    ticket_id = f"T-{new_id()[:8]}"
    await d.seed([(ticket_id, client_message(text, subject, client, at))])
    return ticket_id


def client_message(text: str, subject: str | None, client: ClientRef, at: datetime | None = None) -> t.ReceiveMessage:
    content = InboundContent(message_id=new_id(), channel=Channel.email, received_at=at or T0, subject=subject,
                             external_id=f"<{new_id()}@c>", text=text, sender=Sender(email="p1@c1.example"))
    return t.ReceiveMessage(channel=Channel.email, subject=subject, client=client, content=content)
