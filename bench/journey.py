"""A ticket's whole journey on a whole desk: what it costs in database commands and CPU, every service included.

The services a desk runs for it (tickets, intake, routing, sla, notify, feedback, gateway) run as processes on the
real broker and database; notify delivers to an aiosmtpd server in this process. The seed is a small desk: lines,
10 agents, a client with a contract, one contact per ticket, and an SLA policy for the contract on a business
calendar open every hour of the week (so the clocks run whenever the bench does). Each journey, ``--concurrency``
at a time: an inbound web message (as ``bench.pipeline`` publishes them) → ``TicketOffered`` → the offered agent,
through the gateway's API, claims, starts work, replies to the client and resolves → the client answers the survey
(``SurveyRequested`` on ``feedback.events``) on feedback's API → ``TicketCompleted``. A journey counts as done once
the ledger has also recorded the client's four e-mails (taken, reply, resolved, survey) as sent. Every step waits on
the gateway's answer or on the ticket's events (one tail consumer on ``tickets.events`` and ``feedback.events``).

Costs come from ``bench.measure`` (each service's ``frontline_db_commands_total``, CPU of every process, the broker
and the database included). A desk polls even when nothing happens, so the run first measures an idle window
(``--idle-seconds``, after a few warm-up journeys) and reports the measured window both as it is (``gross``) and
less the idle rate over its length (``db_ops_per_ticket``, ``cpu_ms_per_ticket``): the journey's own cost, which
does not depend on how long the run took. CPU less idle is the services' and the database's; the broker's is given
by process only (most of its idle CPU answers empty fetches, which a busy desk makes fewer of). Journeys per second
run from the first publish to the last ``TicketCompleted``.

    python -m bench.journey --tickets 50 [--concurrency 10] [--idle-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import infra, summary_ms, write_result
from bench.measure import Usage, infra_pids, merge_latest, per_net_of_idle
from services.gateway.access.auth import mint_token
from services.gateway.settings import GatewaySettings
from shared.contracts.collections import TICKET_VIEWS, TICKETS
from shared.contracts.envelope import Envelope
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import FEEDBACK_EVENTS, INBOUND_MESSAGES, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, CONTRACTS, Client, ContactPerson, Contract
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.directory.sla import CALENDARS, POLICIES, BusinessCalendar, SlaPolicy, Targets, WorkingHours
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually, isolated_env, make_settings
from tools.cli import available_services
from tools.stack import Stack

T = TypeVar("T")
SEED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SERVICES = ["tickets", "intake", "routing", "sla", "notify", "feedback", "gateway"]
MAILS_PER_JOURNEY = 4  # to the client: ticket taken (claim and start are one notice), the reply, resolved, survey
# the agent's actions through the gateway, each with the event that shows the ledger did it
STEPS: list[tuple[str, dict[str, str] | None, str]] = [
    ("claim", None, "TicketAssigned"), ("start", None, "WorkStarted"),
    ("reply", {"text": "We have reset the port on your line; it should work now."}, "ReplySent"),
    ("resolve", {"problem": "No connection", "solution": "Reset the port on the switch"}, "TicketResolved")]
ENV = {"ROUTING_CLAIM_TIMEOUT_SECONDS": "3600",  # no auto-assignment races the agent's claim on a loaded machine
       "GATEWAY_ACTION_WAIT_SECONDS": "30", "FRONTLINE_LOG_LEVEL": "WARNING", "NOTIFY_SMTP_HOST": "127.0.0.1",
       "NOTIFY_SMTP_STARTTLS": "false", "NOTIFY_DEFAULT_LANGUAGE": "en", "FEEDBACK_DEFAULT_LANGUAGE": "en"}


async def seed(settings: CommonSettings, contacts: int) -> None:
    client = mongo_client(settings)
    db = database(client, settings)

    async def put(directory: Any, *items: Any) -> None:
        for item in items:
            await DirectoryStore(db, directory).put(item, actor="bench", at=SEED_AT)
    await put(LINES, *(Line(id=line, order=i) for i, line in enumerate(("first", "second", "third"), start=1)))
    await put(AGENTS, *(Agent(id=f"agent-{i}", name=f"Agent {i}", email=f"agent-{i}@desk.test",
                              line_ids=["first", "second"]) for i in range(10)))
    await put(CLIENTS, Client(id="acme", name="Acme Ltd"))
    await put(CONTRACTS, Contract(number="C-100", client_id="acme"))
    await put(CONTACTS, *(ContactPerson(id=f"contact-{i}", client_id="acme", emails=[f"client{i}@acme.example"],
                                        contract_number="C-100") for i in range(contacts)))
    await put(CALENDARS, BusinessCalendar(id="every-hour", timezone="Europe/Moscow",
                                          hours=[WorkingHours(weekday=d, start="00:00", end="24:00")
                                                 for d in range(7)]))
    await put(POLICIES, SlaPolicy(id="acme", contract_ids=["C-100"], calendar_id="every-hour", targets=Targets(
        first_response_seconds=900, take_into_work_seconds=1800, resolution_seconds=8 * 3600)))
    await client.close()


def inbound(i: int, external_id: str) -> InboundMessage:
    return InboundMessage(channel="web", external_id=external_id, sender={"email": f"client{i}@acme.example"},
                          subject="No connection", text="The line is down " * 10, requested_line="plain")


class Events:
    """Every event on ``tickets.events`` and ``feedback.events`` by ticket, and the inbound message of each ticket."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.by_ticket: dict[str, list[Envelope]] = defaultdict(list)
        self.ticket_of: dict[str, str] = {}  # inbound external id → ticket id
        self.changed = asyncio.Condition()
        self.consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                         enable_auto_commit=False, fetch_max_wait_ms=5)

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(spec.full(self.settings.topic_prefix), p)
               for spec in (TICKETS_EVENTS, FEEDBACK_EVENTS) for p in range(spec.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batches.values():
                for r in records:
                    env = Envelope.from_bytes(r.value)
                    self.by_ticket[env.ticket_id].append(env)
                    if env.type == "MessageReceived":
                        self.ticket_of.setdefault(env.payload["content"]["external_id"], env.ticket_id)
            if batches:
                async with self.changed:
                    self.changed.notify_all()

    def of(self, ticket_id: str, type_: str) -> list[Envelope]:
        return [e for e in self.by_ticket.get(ticket_id, []) if e.type == type_]

    def first(self, ticket_id: str, type_: str) -> Envelope | None:
        return next((e for e in self.by_ticket.get(ticket_id, []) if e.type == type_), None)

    def mails_sent(self, ticket_id: str) -> int:
        return sum(1 for e in self.of(ticket_id, "NotificationRecorded") if e.payload["outcome"] == "sent")

    async def until(self, probe: Callable[[], T | None], what: str, timeout: float) -> T:
        async with self.changed:
            try:
                found = await asyncio.wait_for(self.changed.wait_for(probe), timeout)
            except TimeoutError:
                raise TimeoutError(f"no {what} within {timeout:.0f} s") from None
        assert found is not None
        return found

    async def stop(self) -> None:
        self.task.cancel()
        await self.consumer.stop()


class Driver:
    """The bench's doors into the desk: the inbound topic, the gateway as any agent, the client's browser."""

    def __init__(self, stack: Stack, events: Events, step_timeout: float) -> None:
        self.stack, self.events, self.step_timeout = stack, events, step_timeout
        self.gateway = make_settings(GatewaySettings, stack.env)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.gateway.kafka_bootstrap_servers, linger_ms=2)
        self.http = httpx.AsyncClient(timeout=step_timeout)

    async def journey(self, i: int, external_id: str) -> dict[str, Any]:
        """One ticket from the client's message to its completion and the client's mails; seconds per leg."""
        ev, wait, t0 = self.events, self.step_timeout, time.perf_counter()
        msg = inbound(i, external_id)
        await self.producer.send_and_wait(INBOUND_MESSAGES.full(self.gateway.topic_prefix), key=msg.key().encode(),
                                          value=msg.model_dump_json().encode())
        tid = await ev.until(lambda: ev.ticket_of.get(external_id), f"ticket for {external_id}", wait)
        offer = await ev.until(partial(ev.first, tid, "TicketOffered"), f"offer of {tid}", wait)
        offered = time.perf_counter()
        token = mint_token(self.gateway, offer.payload["agent_ids"][0], "specialist")
        for action, body, event in STEPS:
            resp = await self.http.post(f"{self.stack.url('gateway')}/api/v1/tickets/{tid}/{action}", json=body,
                                        headers={"Authorization": f"Bearer {token}"})
            if resp.status_code not in (200, 202):  # 202: the ledger had not answered yet; its event will tell
                raise RuntimeError(f"{action} {tid}: {resp.status_code} {resp.text}")
            await ev.until(partial(ev.first, tid, event), f"{event} of {tid}", wait)
        survey = await ev.until(partial(ev.first, tid, "SurveyRequested"), f"survey of {tid}", wait)
        resp = await self.http.post(survey.payload["links"]["good"], headers={"Accept": "application/json"})
        if resp.status_code != 201:
            raise RuntimeError(f"survey answer {tid}: {resp.status_code} {resp.text}")
        await ev.until(partial(ev.first, tid, "TicketCompleted"), f"completion of {tid}", wait)
        completed = time.perf_counter()
        await ev.until(lambda: ev.mails_sent(tid) >= MAILS_PER_JOURNEY, f"{tid}'s mails recorded as sent", wait)
        return {"ticket": tid, "to_offer": offered - t0, "to_completed": completed - t0,
                "to_mails_recorded": time.perf_counter() - t0}

    async def phase(self, run: str, indices: range, concurrency: int) -> dict[str, Any]:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                return await self.journey(i, f"{run}-{i}")
        t0 = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in indices), return_exceptions=True)
        done = [o for o in outcomes if isinstance(o, dict)]
        failures = sorted({str(o) for o in outcomes if isinstance(o, BaseException)})
        completed_at = max((t0 + o["to_completed"] for o in done), default=t0)
        return {"journeys": len(indices), "completed": len(done), "failures": failures[:10],
                "tickets": [o["ticket"] for o in done], "concurrency": concurrency,
                "seconds_first_publish_to_last_completion": round(completed_at - t0, 3),
                "seconds_to_last_mail_recorded": round(time.perf_counter() - t0, 3),
                "journeys_per_s": round(len(done) / (completed_at - t0), 2) if done else None,
                "latency_publish_to_offer": summary_ms([o["to_offer"] for o in done]),
                "latency_publish_to_completed": summary_ms([o["to_completed"] for o in done])}

    async def copies_caught_up(self, ticket_ids: list[str]) -> None:
        """Until the gateway's copies of these tickets hold the ledger's version (its last work on them)."""
        client = mongo_client(self.gateway)
        db = database(client, self.gateway)

        async def caught_up() -> bool:
            query = {"_id": {"$in": ticket_ids}}
            ledger = {d["_id"]: d["version"] async for d in db[TICKETS].find(query, {"version": 1})}
            views = {d["_id"]: d["version"] async for d in db[TICKET_VIEWS].find(query, {"version": 1})}
            return all(views.get(t, -1) >= v for t, v in ledger.items())
        try:
            await eventually(caught_up, timeout=self.step_timeout, interval=0.2, message="the gateway's copies")
        finally:
            await client.close()


async def measure(stack: Stack, usage: Usage, smtp: SmtpServer, n: int, concurrency: int, warmup: int,
                  idle_seconds: float, step_timeout: float) -> dict[str, Any]:
    events = Events(make_settings(CommonSettings, stack.env))
    await events.start()
    drv = Driver(stack, events, step_timeout)
    await drv.producer.start()
    try:
        run = f"j{int(time.time())}"
        # a few journeys first: connections, caches, first group fetches and compiled templates are not measured
        warm = await drv.phase(f"{run}w", range(warmup), concurrency)
        await drv.copies_caught_up(warm["tickets"])
        idle_before = await asyncio.to_thread(usage.mark)
        t_idle = time.perf_counter()
        await asyncio.sleep(idle_seconds)  # the idle window: nothing is sent; what the desk polls meanwhile
        idle_after = await asyncio.to_thread(usage.mark)
        idle_elapsed = time.perf_counter() - t_idle
        before = await asyncio.to_thread(usage.mark)
        t0 = time.perf_counter()
        result = await drv.phase(f"{run}m", range(warmup, warmup + n), concurrency)
        await drv.copies_caught_up(result["tickets"])
        after = await asyncio.to_thread(usage.mark)
        elapsed = time.perf_counter() - t0
    finally:
        await drv.http.aclose()
        await drv.producer.stop()
        await events.stop()
    items = max(result["completed"], 1)
    gross = Usage.per(before, after, items)
    net = per_net_of_idle((before, after), (idle_before, idle_after), elapsed / idle_elapsed, items)
    idle = Usage.per(idle_before, idle_after, 1)
    clients = [f"client{i}@acme.example" for i in range(warmup, warmup + n)]
    got = [len(smtp.sink.to(c)) for c in clients]
    measured = result.pop("tickets")
    events_each = [len(events.by_ticket[t]) for t in measured]
    return {**result, "warmup_completed": warm["completed"], "measured_window_seconds": round(elapsed, 2),
            "events_per_ticket": round(sum(events_each) / max(len(events_each), 1), 1),
            "mails_per_journey_expected": MAILS_PER_JOURNEY,
            "clients_with_exactly_their_mails": sum(1 for g in got if g == MAILS_PER_JOURNEY),
            "duplicate_mails": sum(max(g - MAILS_PER_JOURNEY, 0) for g in got),
            "cost_per_ticket": net, "cost_per_ticket_gross": gross,
            "idle": {"seconds": round(idle_elapsed, 2),
                     "db_commands_per_s": round(idle["db_ops"] / idle_elapsed, 2),
                     "cpu_ms_per_s": round(idle["cpu_ms"] / idle_elapsed, 2)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50, help="journeys measured")
    parser.add_argument("--concurrency", type=int, default=10, help="journeys under way at once")
    parser.add_argument("--warmup", type=int, default=5, help="journeys before the measurement (not measured)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="the idle window subtracted")
    parser.add_argument("--step-timeout", type=float, default=120.0, help="longest wait for any one step")
    args = parser.parse_args()
    missing = [s for s in SERVICES if s not in available_services()]
    if missing:
        raise SystemExit(f"the journey benchmark needs the services {missing}")
    load_at_start = list(os.getloadavg())
    smtp = SmtpServer()
    smtp.start()
    try:
        with infra() as base, tempfile.TemporaryDirectory() as logs:
            env = {**base, **isolated_env(), **ENV, "NOTIFY_SMTP_PORT": str(smtp.port)}
            asyncio.run(seed(make_settings(CommonSettings, env), args.warmup + args.tickets))
            with Stack(env, Path(logs), services=SERVICES, ready_timeout=180) as stack:
                # "bench" is this process: the driver and the SMTP server, the other end of every mail
                usage = Usage({**{n: p.proc.pid for n, p in stack.procs.items() if p.proc}, **infra_pids(env),
                               "bench": os.getpid()}, {n: p.metrics_url for n, p in stack.procs.items()})
                result = asyncio.run(measure(stack, usage, smtp, args.tickets, args.concurrency, args.warmup,
                                             args.idle_seconds, args.step_timeout))
    finally:
        smtp.stop()
    cost, gross = result["cost_per_ticket"], result["cost_per_ticket_gross"]
    cpu, gross_cpu = cost["cpu_ms_by_process"], gross["cpu_ms_by_process"]
    result.update({
        "db_ops_per_ticket": cost["db_ops"],  # the whole journey, every service, less the idle polling
        "db_ops_per_ticket_by_service": cost["db_ops_by_service"],
        "db_ops_per_ticket_gross": gross["db_ops"],  # as measured, idle polling over the window included
        # the services and the database, less idle; the broker apart: most of its idle CPU answers the consumers'
        # empty fetches, of which a busy desk makes fewer, so its idle rate is no baseline (its net can go negative)
        "cpu_ms_per_ticket": round(sum(v for n, v in cpu.items() if n not in ("broker", "bench")), 2),
        "cpu_ms_per_ticket_by_process": cpu,
        "cpu_ms_per_ticket_gross": round(sum(v for n, v in gross_cpu.items() if n != "bench"), 2),
        "cpu_ms_per_ticket_gross_by_process": gross_cpu,  # as measured, the broker's included
        "services": SERVICES, "load_average_at_start": load_at_start, "load_average": list(os.getloadavg()),
        "path": "inbound.messages → offer → gateway claim, start, reply, resolve → feedback answer → completed, "
                "and the client's 4 mails recorded as sent"})
    write_result("journey", result)
    merge_latest("journey")
    if result["completed"] != args.tickets or result["clients_with_exactly_their_mails"] != args.tickets:
        raise SystemExit("not every journey completed with exactly its mails (see 'failures', 'duplicate_mails')")


if __name__ == "__main__":
    main()
