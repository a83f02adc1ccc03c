"""A whole desk run for the fault tests: every service a real process, real servers around it, clients over HTTP.

Clients write to intake's webhook (retrying with the same external id when intake does not answer, as webhook
senders do, and sending some messages twice anyway). Every ticket is opened by the ledger, offered by routing to
the two agents and auto-assigned after a one-second claim timeout; notify mails the client that it was taken
(a real aiosmtpd server). One ticket in six comes from a contact of the client "acme", whose SLA policy
(1 s first response, 2 s resolution, warning at half) makes both targets warn and breach and an escalation step
mail the lead; the assigned agent resolves those through the gateway once their SLA steps fired (retrying with
the same Idempotency-Key), notify mails the resolution, feedback mails the survey and completes the ticket on a
1.5 s timer. The other tickets fall under the default policy, whose targets lie weeks ahead: their SLA clocks
run, nothing of theirs is due, and nothing may fire. (Every ticket on the full path would cost the embedded
database about 0.7 CPU seconds; this mix keeps a few hundred tickets within the CI budget.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.access.auth import mint_token
from services.gateway.settings import GatewaySettings
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, Client, ContactPerson
from shared.directory.routing import AGENTS, LINES, Agent, Line, Role
from shared.directory.sla import LADDERS, POLICIES, EscalationLadder, LadderStep, SlaPolicy, Targets
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.notify_servers import SmtpServer
from tests.support.stack import running_stack
from tests.support.testing import make_settings
from tools.stack import Stack

from .checks import FULL_MAILS, LIGHT_MAILS, diagnose, unsettled
from .watch import SlaSeen, TicketsSeen

AT = datetime(2026, 1, 1, tzinfo=UTC)
FULL_EVERY = 6


def service_env(smtp_port: int) -> dict[str, str]:
    """Short timers so every stage of a ticket comes due within seconds."""
    return {
        "FRONTLINE_LOG_LEVEL": os.environ.get("FRONTLINE_FAULT_LOG_LEVEL", "WARNING"),
        "FRONTLINE_MAIL_DOMAIN": "desk.test", "ROUTING_CLAIM_TIMEOUT_SECONDS": "1",
        "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(smtp_port), "NOTIFY_SMTP_STARTTLS": "false",
        "NOTIFY_SMTP_TIMEOUT": "5", "NOTIFY_LEASE_SECONDS": "3", "NOTIFY_POLL_INTERVAL": "0.1",
        "NOTIFY_RETRY_BASE_SECONDS": "0.2", "NOTIFY_RETRY_CAP_SECONDS": "1", "NOTIFY_MAX_ATTEMPTS": "1000",
        "FEEDBACK_AUTO_COMPLETE_SECONDS": "1.5", "FEEDBACK_TIMER_INTERVAL_SECONDS": "0.1",
        "GATEWAY_ACTION_WAIT_SECONDS": "2",
    }


@dataclass(frozen=True)
class Plan:
    """Which messages the clients send: one per index, every ``FULL_EVERY``-th one on the full path."""

    indices: tuple[int, ...]

    @classmethod
    def of(cls, indices: Iterable[int]) -> Plan:
        return cls(tuple(indices))

    @property
    def n(self) -> int:
        return len(self.indices)

    @staticmethod
    def full(i: int) -> bool:
        return i % FULL_EVERY == 0

    @staticmethod
    def sender(i: int) -> str:
        return f"p{i}@acme.example" if Plan.full(i) else f"c{i}@client.example"

    @staticmethod
    def inbound(i: int) -> dict[str, Any]:
        return {"channel": "web", "external_id": f"form-{i}", "sender": {"email": Plan.sender(i)},
                "subject": f"Request {i}", "text": f"message {i}"}

    @property
    def senders(self) -> list[str]:
        return [self.sender(i) for i in self.indices]

    @property
    def full_count(self) -> int:
        return sum(1 for i in self.indices if self.full(i))

    @property
    def mails(self) -> int:
        return self.full_count * len(FULL_MAILS) + (self.n - self.full_count) * len(LIGHT_MAILS)


async def seed(db: AsyncDatabase, plan: Plan) -> None:
    put: dict[str, Any] = {"actor": "fault-test", "at": AT}
    await DirectoryStore(db, LINES).put(Line(id="first", order=1), **put)
    agents = DirectoryStore(db, AGENTS)
    for agent_id in ("ann", "bob"):  # no e-mail: their notices stay in the in-app feed
        await agents.put(Agent(id=agent_id, name=agent_id.title(), line_ids=["first"]), **put)
    await agents.put(Agent(id="lea", name="Lea", roles=[Role.team_lead], email="lea@lead.example"), **put)
    await DirectoryStore(db, CLIENTS).put(Client(id="acme", name="Acme", category="premium"), **put)
    contacts = DirectoryStore(db, CONTACTS)
    for i in plan.indices:
        if plan.full(i):
            await contacts.put(ContactPerson(id=f"p{i}", client_id="acme", emails=[plan.sender(i)]), **put)
    policies = DirectoryStore(db, POLICIES)
    await policies.put(SlaPolicy(id="acme", client_ids=["acme"], ladder_id="fault", warning_share=0.5,
                                 targets=Targets(first_response_seconds=1.0, resolution_seconds=2.0)), **put)
    await policies.put(SlaPolicy(id="default", ladder_id="fault", warning_share=0.5,
                                 # weeks of business time: a 5,000-ticket run lasts over an hour, and with 1 h / 2 h
                                 # targets its light tickets' warnings came due mid-run (warning at half)
                                 targets=Targets(first_response_seconds=30 * 86400.0,
                                                 resolution_seconds=60 * 86400.0)), **put)
    await DirectoryStore(db, LADDERS).put(EscalationLadder(id="fault", steps=[LadderStep(
        step=1, start="breached", after_seconds=0.5, condition="unresolved", roles=["team_lead"],
        reason="breached and unresolved")]), **put)


@dataclass
class Clients:
    """The people outside: clients writing to intake, agents resolving through the gateway."""

    stack: Stack
    gateway: GatewaySettings
    statuses: Counter[str] = field(default_factory=Counter)
    resolve_sent: dict[str, float] = field(default_factory=dict)

    async def _post(self, http: httpx.AsyncClient, service: str, path: str, **kw: Any) -> int:
        """Retry while the service is down (or answers 5xx, counted in ``statuses``); the final status."""
        deadline = time.monotonic() + 120
        while True:
            try:
                resp = await http.post(self.stack.url(service) + path, timeout=10, **kw)
                self.statuses[f"{service} {resp.status_code}"] += 1
                if resp.status_code < 500:
                    return resp.status_code
            except httpx.TransportError as exc:
                self.statuses[f"{service} {type(exc).__name__}"] += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} {path} did not answer for 120 s")
            await asyncio.sleep(0.2)

    def server_errors(self) -> dict[str, int]:
        return {k: v for k, v in self.statuses.items() if k.split()[-1].startswith("5")}

    async def write(self, http: httpx.AsyncClient, indices: Iterable[int], rate: float) -> None:
        """Inbound messages at ``rate`` per second; the answer is 202 even for a resend (same id)."""
        t0 = time.monotonic()
        for k, i in enumerate(indices):
            status = await self._post(http, "intake", "/api/v1/inbound", json=Plan.inbound(i))
            assert status == 202, (i, status)
            if (delay := t0 + k / rate - time.monotonic()) > 0:
                await asyncio.sleep(delay)

    async def resolve(self, http: httpx.AsyncClient, ticket_id: str, agent: str) -> None:
        token = mint_token(self.gateway, agent, "specialist")
        status = await self._post(
            http, "gateway", f"/api/v1/tickets/{ticket_id}/resolve",
            json={"problem": "line down", "solution": "restarted the line"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"resolve-{ticket_id}"})
        assert status in (200, 202), (ticket_id, status)
        self.resolve_sent[ticket_id] = time.monotonic()

    async def resolver(self, http: httpx.AsyncClient, tickets: TicketsSeen, sla: SlaSeen,
                       stop: asyncio.Event) -> None:
        """Agents resolve each assigned acme ticket once its SLA steps fired; a resolve the ledger never
        answered is sent again after 15 s with the same Idempotency-Key (one effect whatever happens)."""
        sem = asyncio.Semaphore(8)

        async def one(tid: str, agent: str) -> None:
            async with sem:
                await self.resolve(http, tid, agent)

        while not stop.is_set():
            now = time.monotonic()
            due = [(tid, agent) for tid, agent in tickets.to_resolve()
                   if sla.complete(tid) and now - self.resolve_sent.get(tid, -1e9) > 15]
            for tid, _ in due:
                self.resolve_sent[tid] = now
            await asyncio.gather(*(one(tid, agent) for tid, agent in due))
            await asyncio.sleep(0.3)


@dataclass
class Desk:
    db: AsyncDatabase
    smtp: SmtpServer
    stack: Stack
    sla: SlaSeen
    tickets: TicketsSeen
    clients: Clients
    http: httpx.AsyncClient
    resolver: asyncio.Task[None]

    def check(self, *tasks: asyncio.Task[None]) -> None:
        """Raise here what a client task failed with."""
        for task in (self.resolver, *tasks):
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def write(self, plan: Plan, rate: float) -> None:
        await self.clients.write(self.http, plan.indices, rate)

    async def progress(self, every: float = 30.0) -> None:
        """Print where the run's tickets are every ``every`` seconds (FRONTLINE_FAULT_PROGRESS=1, with -s)."""
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(every)
            now = datetime.now(UTC)
            timers = {name: await self.db[name].count_documents({"fired": False, "due_at": {"$lte": now}})
                      for name in ("sla_timers", "routing_timers", "feedback_timers")}
            print(f"[{time.monotonic() - t0:6.0f}s] tickets {self.tickets.summary()} due timers {timers} "
                  f"mails {len(self.smtp.sink.messages)}", flush=True)

    async def settle(self, plan: Plan, timeout: float) -> None:
        """Wait until the plan's tickets went the whole way (or fail with where they are stuck).

        The events say when to ask; the database's full check decides (every 2 s once the events say done,
        every 20 s before, in case a broker restart lost the events that would say so)."""
        deadline = time.monotonic() + timeout
        ask_at = 0.0
        while True:
            self.check()
            received = {m["X-Frontline-Notification"] for m in list(self.smtp.sink.messages)}
            missing = self.tickets.unsettled(plan, received)
            if missing is None or time.monotonic() >= ask_at:
                missing = await unsettled(self.db, self.smtp, plan)
                if missing is None:
                    return
                ask_at = time.monotonic() + (2 if self.tickets.unsettled(plan, received) is None else 20)
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout:.0f}s: {missing}; "
                                     f"{await diagnose(self.db, self.sla)}")
            await asyncio.sleep(1)


@contextlib.asynccontextmanager
async def running_desk(env: dict[str, str], log_dir: Path, plan: Plan) -> AsyncIterator[Desk]:
    """Seed the directories for ``plan``, start an SMTP server and all seven services; clients ready."""
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed(db, plan)
    smtp = SmtpServer()
    smtp.start()
    try:
        async with running_stack(env, log_dir, extra_env=service_env(smtp.port)) as stack, \
                SlaSeen(settings) as sla, TicketsSeen(settings) as tickets, httpx.AsyncClient() as http:
            clients = Clients(stack, make_settings(GatewaySettings, stack.env))
            stop = asyncio.Event()
            resolver = asyncio.create_task(clients.resolver(http, tickets, sla, stop))
            try:
                yield Desk(db, smtp, stack, sla, tickets, clients, http, resolver)
            finally:
                stop.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(resolver, 30)
    finally:
        smtp.stop()
        await client.close()
