"""The broker and the database die in the middle of a run and come back on the same port; the services, never
restarted, reconnect by themselves. Each test runs its own broker and database (EmbeddedInfra), so the session's
are untouched, and the whole desk on them (tests/faults/desk.py).

Database restart (on-disk storage, clean stop): nothing is lost and nothing duplicated. MongoDB holds every
state; Kafka keeps every record and offset meanwhile, so a handler that failed on the dead database is retried
and one that wrote but was killed before acknowledging is redelivered and deduplicated. Every ticket goes the
whole way with the same guarantees as the service-kill test.

Broker restart (the embedded broker is memory-only; docs/operations.md "When the embedded broker or database
restarts"): every topic, record and consumer offset is gone. What comes back from MongoDB: every ticket with its
full history (the ledger's documents are the source of truth), intake's conversations and recorded decisions,
routing's and SLA's timers, notify's deliveries and feedback's surveys and timers. What is lost: records
published but not yet consumed. A client message intake had accepted (202) but not yet turned into a command
never becomes a ticket: the client must send it again (the same external id: if it did get through, the resend
adds nothing). Commands and events in flight are lost too, so a ticket caught mid-way may stop there. And since
the offsets start again at 0 while the running consumers keep their positions in the lost logs, each group also
skips up to that many of the first new records per partition. The test recreates the topics before clients can
reach the broker (as Strimzi would; Tansu would create them with 4 partitions) and asserts what holds: no
service restarted and all are ready; tickets written before are intact; every message, resent by its client
until it shows up, is exactly one ticket; the services went on working; nothing anywhere was recorded, fired or
mailed twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from aiokafka.conn import create_conn
from aiokafka.protocol.admin import CreateTopicsRequest

from shared.contracts.topics import all_topics_with_dead_letters
from tests.support.testing import FAST_GROUPS, isolated_env
from tools.infra import EmbeddedInfra

from .checks import check_no_duplicates, tickets_of, verify
from .desk import Desk, Plan, running_desk

TOPIC_EXISTS = 36


def recreate_topics(prefix: str) -> Callable[[str, int], None]:
    """What Strimzi does for a lost cluster: the topics come back as declared before any client may use them."""

    async def create(host: str, port: int) -> None:
        conn = await create_conn(host, port)  # the broker's own port: the gate is still closed
        try:
            topics = [(s.full(prefix), s.partitions, 1, [], [("retention.ms", str(s.retention_ms))])
                      for s in all_topics_with_dead_letters()]
            resp = await conn.send(CreateTopicsRequest(create_topic_requests=topics, timeout=10_000,
                                                       validate_only=False))
            errors = [(t[0], t[1]) for t in resp.topic_errors if t[1] not in (0, TOPIC_EXISTS)]
            assert not errors, errors
        finally:
            conn.close()

    return lambda host, port: asyncio.run(create(host, port))


def pids(desk: Desk) -> dict[str, int | None]:
    return {name: p.proc.pid if p.proc and p.proc.poll() is None else None for name, p in desk.stack.procs.items()}


async def test_database_restart_mid_run(tmp_path: Path) -> None:
    plan = Plan.of(range(72))
    with EmbeddedInfra(data_dir=tmp_path / "data", log_dir=tmp_path / "infra") as infra:
        env = {**infra.env, **FAST_GROUPS, **isolated_env()}
        async with running_desk(env, tmp_path / "logs", plan) as desk:
            before = pids(desk)
            writer = asyncio.create_task(desk.write(plan, rate=8))
            await asyncio.sleep(4)  # tickets in every stage now
            assert await desk.db.tickets.count_documents({}) > 0
            t0 = time.monotonic()
            await asyncio.to_thread(infra.restart_database, 2.0)  # SIGTERM, 2 s down, same port and storage
            restarted = time.monotonic() - t0
            await writer
            await desk.settle(plan, timeout=240)
            await asyncio.sleep(2)
            await verify(desk.db, desk.smtp, desk.sla, plan)
            assert pids(desk) == before and None not in before.values(), "no service was restarted"
            print(f"\ndatabase down {restarted:.1f}s; client calls {dict(desk.clients.statuses)}")


async def resend_until_ticketed(desk: Desk, plan: Plan, timeout: float) -> int:
    """A client resends (same external id) every message it has seen no ticket for, every few seconds."""
    deadline, rounds = time.monotonic() + timeout, 0
    while True:
        have = {d["sender"]["email"] for d in await tickets_of(desk.db, plan)}
        missing = Plan.of(i for i in plan.indices if Plan.sender(i) not in have)
        if not missing.indices:
            return rounds
        assert time.monotonic() < deadline, f"{missing.n} messages never became tickets: {missing.indices}"
        await desk.write(missing, rate=20)
        rounds += 1
        await asyncio.sleep(5)


async def test_broker_restart_mid_run(tmp_path: Path) -> None:
    before, during, after = Plan.of(range(0, 24)), Plan.of(range(24, 60)), Plan.of(range(60, 84))
    with EmbeddedInfra(log_dir=tmp_path / "infra", gated=True) as infra:
        env = {**infra.env, **FAST_GROUPS, **isolated_env()}
        async with running_desk(env, tmp_path / "logs", Plan.of(range(84))) as desk:
            started = pids(desk)
            await desk.write(before, rate=10)
            await desk.settle(before, timeout=180)
            snapshot = {d["_id"]: d for d in await tickets_of(desk.db, before)}

            writer = asyncio.create_task(desk.write(during, rate=10))
            await asyncio.sleep(2)  # some accepted, some in flight in every stage
            await asyncio.to_thread(infra.restart_broker, 1.0, True, recreate_topics(env["FRONTLINE_TOPIC_PREFIX"]))
            await writer
            await desk.write(after, rate=10)
            rounds = await resend_until_ticketed(desk, Plan.of(range(24, 84)), timeout=120)
            await asyncio.sleep(5)

            assert pids(desk) == started and None not in started.values(), "no service was restarted"
            for name in started:
                assert (await desk.http.get(desk.stack.url(name) + "/readyz")).status_code == 200, name
            docs = await check_no_duplicates(desk.db, desk.smtp, desk.sla)
            assert len(docs) == 84, "every message (resent when unanswered) is exactly one ticket"
            assert {d["_id"]: d for d in await tickets_of(desk.db, before)} == snapshot, "earlier tickets intact"
            later = [d for d in docs if d["_id"] not in snapshot]
            done = sum(d["status"] == ("completed" if d["client"] else "assigned") for d in later)
            assert done > 0, "the services went on working after the restart"
            print(f"\nbroker restart: {rounds} resend rounds; {done} of {len(later)} later tickets went the whole "
                  f"way, the rest stopped mid-way; client calls {dict(desk.clients.statuses)}")
