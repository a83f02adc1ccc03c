"""The desk the console's journeys run against: every service as its own process (tests/support/stack.py), the
console among them with its development sign-in on, and the demo desk (tools/demo) loaded through the public APIs,
so people, clients and tickets in every state exist before the first page opens.

One desk per test module (the ``console_desk`` fixture): starting it and loading the demo take about a minute.
A journey that needs a fresh ticket sends it through intake's doors (``desk.intake``) and sets up directories
through the gateway as an administrator (``desk.auth()``), never through the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.stack import running_stack
from tools.demo.api import ADMIN, DemoApi, Urls
from tools.demo.run import run
from tools.stack import Stack

DESK_ENV = {
    # an administrator's directory edits (a new line, a new agent) take effect at once
    **{f"{svc}_DIRECTORY_CACHE_SECONDS": "0" for svc in ("INTAKE", "ROUTING", "SLA", "NOTIFY", "FEEDBACK")},
    "GATEWAY_ACTION_WAIT_SECONDS": "30",  # the ledger answers a loaded machine's actions late, but it answers
    "ROUTING_CLAIM_TIMEOUT_SECONDS": "3600",  # an offer stays an offer while a journey looks at it
    "NOTIFY_POLL_INTERVAL": "0.1",
    "CONSOLE_DEV_SIGN_IN": "true",
}


@dataclass(frozen=True)
class ConsoleDesk:
    stack: Stack
    tokens: dict[str, str]  # demo person ("demo-admin", "anna", "lena", ...) → the gateway bearer token
    demo: dict[str, Any]  # what the demo loaded: directories, tickets (journey → ticket id), queue sizes

    @property
    def console(self) -> str:
        return self.stack.url("console")

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway")

    @property
    def intake(self) -> str:
        return self.stack.url("intake")

    @property
    def feedback(self) -> str:
        return self.stack.url("feedback")

    @property
    def notify(self) -> str:
        return self.stack.url("notify")

    def gw(self, path: str) -> str:
        """A gateway API address (``path`` relative to ``/api/v1``), for set-up and checks beside the browser."""
        return f"{self.gateway}/api/v1{path}"

    def auth(self, who: str = ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@asynccontextmanager
async def running_console_desk(env: Mapping[str, str], log_dir: Path) -> AsyncIterator[ConsoleDesk]:
    async with running_stack(env, log_dir, extra_env=DESK_ENV) as stack:
        urls = Urls(stack.url("gateway"), stack.url("intake"), stack.url("notify"))
        loaded = await run(urls)
        async with httpx.AsyncClient() as http:  # the demo's people, with the tokens the demo itself acts with
            tokens = {who: h["Authorization"].removeprefix("Bearer ") for who, h in DemoApi(http, urls).headers.items()}
        yield ConsoleDesk(stack, tokens, loaded)
