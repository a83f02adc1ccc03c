"""Routing latency: TicketOpened → TicketOffered through the real broker, ledger and routing processes.

The ledger and routing run as separate OS processes on the real broker and database.
Tickets are opened one by one (paced, so we measure latency rather than queueing);
a tail consumer on ``tickets.events`` records when each ticket's TicketOpened and
TicketOffered arrive. The path measured: routing consumes TicketOpened, decides,
publishes OfferTicket; the ledger consumes it, records, publishes TicketOffered.
Target (issue 4): median under 50 ms.

Two runs, both reported as measured: the consumers' fetch wait (``KAFKA_FETCH_MAX_WAIT_MS``,
shared.runtime.settings) at the value this environment gives the services (bench.common sets 10 for the
embedded broker unless the environment says otherwise), and at Kafka's default, 500. Kafka answers
a fetch as soon as a record arrives, so there 500 costs nothing; the embedded Tansu broker holds a
fetch for up to its wait, so with 500 every hop waits for it.

    python -m bench.routing_latency [--tickets 200] [--interval-ms 100] [--agents 10] [--compare-fetch-wait-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import infra, summary_ms, write_result
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, RequestedLine
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import isolated_env, make_settings
from tools.processes import ServiceProcess

SEED_AT = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MEDIAN_MS = 50.0


async def seed(settings: CommonSettings, agents: int) -> None:
    client = mongo_client(settings)
    db = database(client, settings)
    for i, line in enumerate(("first", "second", "third", "commercial", "development"), start=1):
        await DirectoryStore(db, LINES).put(Line(id=line, order=i), actor="bench", at=SEED_AT)
    for i in range(agents):
        await DirectoryStore(db, AGENTS).put(Agent(id=f"agent-{i}", name=f"Agent {i}", line_ids=["first"]),
                                             actor="bench", at=SEED_AT)
    await client.close()


async def tail(settings: CommonSettings, opened: dict[str, float], offered: dict[str, float],
               clock_ms: dict[str, float], want: int, stop_at: float) -> None:
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=5)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(TICKETS_EVENTS.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    opened_at: dict[str, datetime] = {}
    try:
        while len(offered) < want and time.monotonic() < stop_at:
            for records in (await consumer.getmany(timeout_ms=20)).values():
                now = time.perf_counter()
                for r in records:
                    env = Envelope.from_bytes(r.value)
                    if env.type == "TicketOpened":
                        opened.setdefault(env.ticket_id, now)
                        opened_at[env.ticket_id] = env.occurred_at
                    elif env.type == "TicketOffered" and env.ticket_id not in offered:
                        offered[env.ticket_id] = now
                        if env.ticket_id in opened_at:
                            clock_ms[env.ticket_id] = (env.occurred_at - opened_at[env.ticket_id]).total_seconds()
    finally:
        await consumer.stop()


async def run(settings: CommonSettings, n: int, warmup: int, interval: float) -> dict[str, Any]:
    bus = KafkaBus(settings, "bench")
    await bus.start()
    opened: dict[str, float] = {}
    offered: dict[str, float] = {}
    ledger_clock: dict[str, float] = {}
    total = n + warmup
    tail_task = asyncio.create_task(tail(settings, opened, offered, ledger_clock, total,
                                         time.monotonic() + 60 + total * interval * 2))
    await asyncio.sleep(1.0)  # the tail is positioned
    ids = [f"bench-{i}" for i in range(total)]
    t0 = time.perf_counter()
    for i, tid in enumerate(ids):
        await bus.publish(TICKETS_COMMANDS, envelope_for(
            t.OpenTicket(channel=Channel.web, subject="No connection", text="The line is down",
                         requested_line=RequestedLine.plain), tid, occurred_at=datetime.now(UTC), actor="bench"))
        delay = t0 + (i + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await tail_task
    await bus.stop()
    measured = ids[warmup:]
    wall = [offered[x] - opened[x] for x in measured if x in offered and x in opened]
    by_clock = [ledger_clock[x] for x in measured if x in ledger_clock]
    result = {"tickets": n, "warmup_tickets": warmup, "interval_ms": interval * 1000,
              "completed": len(wall),
              "opened_to_offered_wall": summary_ms(wall),
              "opened_to_offered_event_clock": summary_ms(by_clock)}
    median = result["opened_to_offered_wall"]["p50_ms"]
    result["target_median_ms"] = TARGET_MEDIAN_MS
    result["meets_target"] = bool(wall) and median < TARGET_MEDIAN_MS
    return result


def measure(base: dict[str, str], logs: Path, args: argparse.Namespace, fetch_wait_ms: int | None) -> dict[str, Any]:
    env = {**base, **isolated_env()}
    if fetch_wait_ms is not None:
        env["KAFKA_FETCH_MAX_WAIT_MS"] = str(fetch_wait_ms)
    settings = make_settings(CommonSettings, env)
    asyncio.run(ensure_topics(settings))
    asyncio.run(seed(settings, args.agents))
    procs = [ServiceProcess(name, env, logs).start() for name in ("tickets", "routing")]
    try:
        for p in procs:
            p.wait_ready()
        result = asyncio.run(run(settings, args.tickets, args.warmup, args.interval_ms / 1000))
    finally:
        for p in procs:
            p.stop()
    result["consumer_fetch_max_wait_ms"] = settings.kafka_fetch_max_wait_ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=100.0, help="pacing between tickets")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--compare-fetch-wait-ms", type=int, default=500,
                        help="second run's KAFKA_FETCH_MAX_WAIT_MS (Kafka's default); 0 skips it")
    args = parser.parse_args()
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        configured = measure(base, Path(logs), args, None)
        compare = (measure(base, Path(logs), args, args.compare_fetch_wait_ms)
                   if args.compare_fetch_wait_ms and args.compare_fetch_wait_ms != configured[
                       "consumer_fetch_max_wait_ms"] else None)
    result: dict[str, Any] = {**configured, "agents": args.agents, "services": ["tickets", "routing"]}
    if compare is not None:
        result[f"with_fetch_max_wait_{args.compare_fetch_wait_ms}ms"] = compare
    result["measured"] = ("arrival of TicketOpened → arrival of TicketOffered on one tail consumer of tickets.events "
                          "(wall); and the ledger's own occurred_at difference (event_clock)")
    write_result("routing_latency", result)


if __name__ == "__main__":
    main()
