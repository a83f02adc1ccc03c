"""The public HTTP doors the demo uses: the gateway (as the administrator and as each agent), intake's webhooks and
``/inbound`` (open to loopback callers in development), and notify's deliveries (the survey links sent to clients).

Tokens are minted with the gateway's key exactly as ``frontline token`` mints them (``mint_token``); the scope
claims (lines, groups, teams) come from the demo's agents directory.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from shared.contracts.tokens import mint_token
from shared.runtime.settings import CommonSettings
from tools.demo.desk import AGENTS

Doc = dict[str, Any]
T = TypeVar("T")
ADMIN = "demo-admin"
SURVEY_GOOD = re.compile(r"https?://\S+/s/[^\s/]+/good")


class DemoError(RuntimeError):
    """The desk did not answer as a running desk should (printed, and the demo stops)."""


@dataclass(frozen=True)
class Urls:
    gateway: str = "http://127.0.0.1:8000"
    intake: str = "http://127.0.0.1:8001"
    notify: str = "http://127.0.0.1:8005"


def role_of(agent: Doc) -> str:
    return "team_lead" if "team_lead" in agent["roles"] else "specialist"


def token_args(agent: Doc) -> dict[str, Any]:
    return {"role": role_of(agent), "lines": agent["line_ids"], "groups": agent["group_ids"],
            "teams": agent["team_ids"]}


class DemoApi:
    def __init__(self, http: httpx.AsyncClient, urls: Urls) -> None:
        import importlib

        settings = importlib.import_module("services.gateway.settings").GatewaySettings()  # `frontline token`'s key
        self.http, self.urls = http, urls
        self.headers = {ADMIN: {"Authorization": f"Bearer {mint_token(settings, ADMIN, 'administrator')}"}}
        for agent in AGENTS:
            token = mint_token(settings, agent["id"], name=agent["name"], **token_args(agent))
            self.headers[agent["id"]] = {"Authorization": f"Bearer {token}"}
        service_token = CommonSettings().service_token
        self.service = {"Authorization": f"Bearer {service_token.get_secret_value()}"} if service_token else {}

    async def call(self, method: str, url: str, who: str = ADMIN, ok: tuple[int, ...] = (200,),
                   **kw: Any) -> httpx.Response:
        headers = kw.pop("headers") if "headers" in kw else self.headers.get(who, self.service)
        resp = await self.http.request(method, url, headers=headers, **kw)
        if resp.status_code not in ok:
            raise DemoError(f"{method} {url} as {who}: {resp.status_code} {resp.text[:300]}")
        return resp

    def gw(self, path: str) -> str:
        return f"{self.urls.gateway}/api/v1{path}"

    async def put_entry(self, directory: str, key: str, doc: Doc) -> bool:
        """Create the entry unless it exists (a desk someone has edited keeps its edits); True: created."""
        resp = await self.call("PUT", self.gw(f"/admin/directories/{directory}/{key}"), ok=(200, 409), json=doc)
        return resp.status_code == 200

    async def count(self, directory: str) -> int:
        n, cursor = 0, None
        while True:
            page = (await self.call("GET", self.gw(f"/admin/directories/{directory}"),
                                    params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
            n += len(page["items"])
            if not (cursor := page.get("next_cursor")):
                return n

    async def send(self, path: str, body: Doc) -> None:
        await self.call("POST", f"{self.urls.intake}/api/v1{path}", who="client", ok=(200, 202), json=body, headers={})

    async def tickets(self) -> list[Doc]:
        out: list[Doc] = []
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = (await self.call("GET", self.gw("/tickets"), params=params)).json()
            out += page["items"]
            if not (cursor := page.get("next_cursor")):
                return out

    async def ticket(self, ticket_id: str) -> Doc:
        return dict((await self.call("GET", self.gw(f"/tickets/{ticket_id}"))).json())

    async def act(self, who: str, ticket_id: str, action: str, body: Doc | None = None) -> Doc:
        """An agent's action; the ledger's answer (202 while it is slow: the ticket as it is then)."""
        headers = {**self.headers[who], "Idempotency-Key": f"demo:{ticket_id}:{action}"}
        resp = await self.call("POST", self.gw(f"/tickets/{ticket_id}/{action}"), who=who, ok=(200, 202, 409),
                               json=body, headers=headers)
        # 409: the ledger refused (say an auto-assignment won the race); the journey goes on from the ticket as it is
        return dict(resp.json()) if resp.status_code == 200 else await self.ticket(ticket_id)

    async def availability(self, who: str, value: str) -> None:
        await self.call("PUT", self.gw("/me/availability"), who=who, json={"availability": value})

    async def survey_link(self, ticket_id: str) -> str | None:
        resp = await self.call("GET", f"{self.urls.notify}/api/v1/deliveries", who="notify",
                               params={"ticket_id": ticket_id})
        texts = [d.get("text") or "" for d in resp.json()["items"] if d.get("template") == "survey"]
        return next((m[0] for text in texts if (m := SURVEY_GOOD.search(text))), None)

    async def queue(self, name: str, agent: str | None = None) -> int:
        params = {"limit": 200, **({"agent_id": agent} if agent else {})}
        return len((await self.call("GET", self.gw(f"/queues/{name}"), params=params)).json()["items"])


async def until(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float, interval: float = 0.5) -> T:
    """Poll ``probe`` until it returns something, or fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"gave up after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)
