"""The whole desk as separate processes (``tests.support.stack``), seen only through its public doors.

:func:`desk` starts every service with one shared test clock (``FRONTLINE_CLOCK_FILE``) and yields a
:class:`Desk`: the gateway API as administrator or as any agent, intake's webhooks, the
``inbound.messages`` topic, and :meth:`Desk.jump`, which moves every process's time at once.
Directories are seeded through the gateway's admin API, as an administrator would.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from services.gateway.access.auth import mint_token
from services.gateway.settings import GatewaySettings
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import INBOUND_MESSAGES
from shared.runtime.clock import FileClock, as_utc
from shared.runtime.kafka import _client_kwargs
from shared.runtime.settings import CommonSettings
from tests.support.stack import running_stack
from tests.support.testing import eventually, make_settings
from tools.stack import Stack

Doc = dict[str, Any]
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday morning, where scenarios without a calendar start

# Every scenario runs with these: directory edits take effect at once, the gateway waits long enough for the
# ledger on a loaded machine, and notify retries quickly. Notify's delivery lease ("the worker holding this
# delivery died") is measured on the service clock: the scenarios jump that clock by minutes to days while a
# mail may be on its way, which must not look like a dead worker (it would send the mail again).
BASE_ENV = {
    **{f"{svc}_DIRECTORY_CACHE_SECONDS": "0" for svc in ("INTAKE", "ROUTING", "SLA", "NOTIFY", "FEEDBACK")},
    "GATEWAY_ACTION_WAIT_SECONDS": "30",
    "NOTIFY_DEFAULT_LANGUAGE": "en", "FEEDBACK_DEFAULT_LANGUAGE": "en",
    "NOTIFY_POLL_INTERVAL": "0.1", "NOTIFY_RETRY_BASE_SECONDS": "0.5", "NOTIFY_RETRY_CAP_SECONDS": "2",
    "NOTIFY_LEASE_SECONDS": str(30 * 24 * 3600),
    "FRONTLINE_MAIL_DOMAIN": "desk.test",
}


def smtp_env(port: int) -> dict[str, str]:
    return {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(port), "NOTIFY_SMTP_STARTTLS": "false"}


class Desk:
    def __init__(self, stack: Stack, clock_file: Path, http: httpx.AsyncClient) -> None:
        self.stack, self.clock_file, self.http = stack, clock_file, http
        self.clock = FileClock(clock_file)
        self.gateway_settings = make_settings(GatewaySettings, stack.env)
        self.settings = make_settings(CommonSettings, stack.env)
        self._jumped = 0.0

    # ---- time -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def jump(self, at: datetime) -> None:
        """Every service's clock reads ``at`` from now on (and runs on in real time)."""
        assert at > self.now(), f"the test clock only moves forward ({at} is before {self.now()})"
        time.sleep(max(0.0, self._jumped + 0.02 - time.monotonic()))  # a distinct file mtime per jump
        FileClock.write(self.clock_file, at)
        self._jumped = time.monotonic()

    # ---- gateway --------------------------------------------------------------------------------

    def auth(self, user: str, role: str = "specialist") -> dict[str, str]:
        token = mint_token(self.gateway_settings, user, role, clock=self.clock)
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin-e2e", "administrator")

    def gw(self, path: str) -> str:
        return f"{self.stack.url('gateway')}/api/v1{path}"

    async def put(self, directory: str, body: Doc) -> Doc:
        """Create one directory entry through the admin API."""
        key = body.get("id") or body["number"]
        resp = await self.http.put(self.gw(f"/admin/directories/{directory}/{key}"), json=body, headers=self.admin)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def seed(self, entries: dict[str, list[Doc]]) -> None:
        for directory, items in entries.items():
            for item in items:
                await self.put(directory, item)

    async def entries(self, directory: str) -> list[Doc]:
        resp = await self.http.get(self.gw(f"/admin/directories/{directory}"), headers=self.admin)
        assert resp.status_code == 200, resp.text
        return [e["data"] for e in resp.json()["items"]]

    async def act(self, user: str, ticket_id: str, action: str, body: Doc | None = None, *,
                  expect: int = 200) -> Doc:
        """An agent's action on a ticket; returns the ticket as the ledger recorded it (or the problem)."""
        resp = await self.http.post(self.gw(f"/tickets/{ticket_id}/{action}"), json=body, headers=self.auth(user))
        assert resp.status_code == expect, f"{user} {action} {ticket_id}: {resp.status_code} {resp.text}"
        return dict(resp.json())

    async def find_ticket(self, ticket_id: str) -> Doc | None:
        """The ticket with its history, as the administrator sees it; None while it does not exist."""
        resp = await self.http.get(self.gw(f"/tickets/{ticket_id}"), params={"history": "true"}, headers=self.admin)
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def ticket(self, ticket_id: str) -> Doc:
        doc = await self.find_ticket(ticket_id)
        assert doc is not None, f"no ticket {ticket_id}"
        return doc

    async def tickets(self, **params: str) -> list[Doc]:
        resp = await self.http.get(self.gw("/tickets"), params={"limit": "200", **params}, headers=self.admin)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])

    async def queue(self, name: str, user: str = "admin-e2e", role: str = "administrator") -> list[str]:
        resp = await self.http.get(self.gw(f"/queues/{name}"), headers=self.auth(user, role))
        assert resp.status_code == 200, resp.text
        return [t["id"] for t in resp.json()["items"]]

    async def until(self, ticket_id: str, check: Callable[[Doc], Any], what: str, timeout: float = 45) -> Doc:
        """The ticket once it exists and ``check`` holds for it (polled through the gateway)."""
        async def probe() -> Doc | None:
            doc = await self.find_ticket(ticket_id)
            return doc if doc is not None and check(doc) else None
        doc: Doc = await eventually(probe, timeout, interval=0.2, message=f"ticket {ticket_id}: {what}")
        return doc

    async def first_ticket(self, what: str, timeout: float = 45, **params: str) -> Doc:
        items: list[Doc] = await eventually(lambda: self.tickets(**params), timeout, interval=0.2, message=what)
        assert len(items) == 1, [t["id"] for t in items]
        return items[0]

    # ---- other doors ----------------------------------------------------------------------------

    async def intake(self, path: str, body: Doc) -> str:
        resp = await self.http.post(f"{self.stack.url('intake')}/api/v1{path}", json=body)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["message_id"])

    async def publish_inbound(self, msg: InboundMessage) -> None:
        """What another system does: a bare InboundMessage on ``inbound.messages``, keyed by conversation."""
        producer = AIOKafkaProducer(**_client_kwargs(self.settings))
        await producer.start()
        try:
            await producer.send_and_wait(INBOUND_MESSAGES.full(self.settings.topic_prefix),
                                         key=msg.key().encode(), value=msg.model_dump_json().encode())
        finally:
            await producer.stop()


# ---- reading what the ledger recorded -----------------------------------------------------------


def events(doc: Doc, type_: str) -> list[Doc]:
    return [h for h in doc.get("history") or [] if h["type"] == type_]


def at_of(entry: Doc) -> datetime:
    value = entry["occurred_at"]
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def when(value: str | datetime) -> datetime:
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def mails(received: list[EmailMessage], ticket_id: str | None = None) -> list[tuple[str, str]]:
    """(recipient, subject without the ``[#n]`` tag) of every received mail, sorted."""
    out = [(str(m["To"]).lower(), re.sub(r"\[#\d+\]\s*", "", str(m["Subject"])))
           for m in received if ticket_id is None or m["X-Frontline-Ticket"] == ticket_id]
    return sorted(out)


def plain(m: EmailMessage) -> str:
    body = m.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


async def recorded(d: Desk, ticket_id: str, channel: str, n: int) -> set[str] | None:
    """Ids of the deliveries the ledger recorded as sent on ``channel`` (notify reports each outcome back),
    once there are at least ``n``; a delivery recorded twice fails."""
    doc = await d.ticket(ticket_id)
    ids = [e["payload"]["notification_id"] for e in events(doc, "NotificationRecorded")
           if e["payload"]["channel"] == channel and e["payload"]["outcome"] == "sent"]
    assert len(ids) == len(set(ids)), f"a delivery was recorded twice: {ids}"
    return set(ids) if len(ids) >= n else None


def assert_each_once(received: list[EmailMessage]) -> None:
    """No mail was sent twice: distinct Message-IDs and distinct notification ids (the idempotency keys)."""
    ids = [m["Message-ID"] for m in received]
    keys = [m["X-Frontline-Notification"] for m in received]
    assert len(ids) == len(set(ids)), f"duplicate Message-IDs: {sorted(ids)}"
    assert len(keys) == len(set(keys)), f"duplicate notifications: {sorted(keys)}"


# ---- the running system -------------------------------------------------------------------------


@asynccontextmanager
async def desk(env: dict[str, str], tmp_path: Path, start_at: datetime,
               extra_env: dict[str, str] | None = None) -> AsyncIterator[Desk]:
    """Every service as its own process on one test clock that reads ``start_at`` now."""
    clock_file = tmp_path / "clock.json"
    async with running_stack(env, tmp_path / "logs", extra_env={**BASE_ENV, **(extra_env or {})},
                             clock_file=clock_file, start_at=start_at) as stack, \
            httpx.AsyncClient(timeout=60) as http:
        yield Desk(stack, clock_file, http)
