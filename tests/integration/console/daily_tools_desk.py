"""A desk for the console's daily tools (issue 22, W4): the ledger, routing, the gateway and the search service on the
real broker and database, the console served in front with its development sign-in, custom fields defined and
tickets opened through the ledger's own command, each offered to team A's agents (seed_directory's people)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from integration.gateway.gateway_support import seed_directory
from integration.search.search_desk import opening

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.search.app import create_app as search_app
from services.search.settings import SearchSettings
from shared.contracts.schemas.common import ClientRef
from shared.runtime.clock import SystemClock
from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk, running_desk
from tests.support.testing import isolated_env, make_settings, running, serving

WAIT = 60.0


@dataclass
class ToolsDesk:
    desk: Desk
    url: str
    numbers: dict[str, int]


@asynccontextmanager
async def tools_desk(infra: dict[str, str], index_dir: Path, fields: list[dict[str, Any]],
                     tickets: Mapping[str, tuple[str, ClientRef]]) -> AsyncIterator[ToolsDesk]:
    """``tickets``: id → (the client's first message, the client); each is offered before the desk is handed over."""
    env = {**infra, **isolated_env()}
    search = search_app(make_settings(SearchSettings, env, index_dir=str(index_dir)))
    async with running(search), serving(search) as search_url, \
            running_desk(env, SystemClock(), ["routing", "gateway"], front="gateway", before=seed_directory,
                         settings={"routing": {"directory_cache_seconds": 0},
                                   "gateway": {"search_url": search_url, "action_wait_seconds": 30.0}}) as d:
        for field in fields:
            put = await d.http.put(f"/api/v1/admin/directories/custom-fields/{field['id']}", json=field,
                                   headers=d.token("root", "administrator"))
            assert put.status_code == 200, put.text
        await d.seed([(tid, opening(text, f"Printer {tid}", client, email=f"{tid.lower()}@client.example"))
                      for tid, (text, client) in tickets.items()])
        numbers = {}
        for tid in tickets:
            await d.wait(tid, "TicketOffered", timeout=WAIT)
            numbers[tid] = (await d.ticket(tid))["number"]
        async with serving(d.app) as gateway_url, \
                serving(create_app(ConsoleSettings(gateway_url=gateway_url, dev_sign_in=True)), lifespan="on") as url:
            yield ToolsDesk(d, url, numbers)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


@asynccontextmanager
async def signed_in(c: ToolsDesk, person: str = "agent:ann") -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser signed in as ``person`` through the development sign-in page, and its session's CSRF token."""
    async with httpx.AsyncClient(base_url=c.url, timeout=60) as http:
        await dev_sign_in(http, person)
        page = await http.get("/search", headers=HTML)
        yield http, csrf_of(page.text)
