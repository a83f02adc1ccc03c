"""Pipeline throughput and latency: inbound.messages → intake → ledger → routing → TicketOffered.

Services run as separate processes on the real broker and database. Beside it, in the
same run, the ceiling: raw aiokafka produce+consume of the same number of records of the
same size on the same broker, so the pipeline is reported as a fraction of it.

    python -m bench.pipeline --messages 5000 [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import infra, summary_ms, write_result
from shared.cli import available_services
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.envelope import Envelope
from shared.kafka import ensure_topics
from shared.mongo import database, mongo_client
from shared.processes import ServiceProcess
from shared.schemas.inbound import InboundMessage
from shared.settings import CommonSettings
from shared.testing import isolated_env, make_settings
from shared.topics import INBOUND_MESSAGES, TICKETS_EVENTS, TopicSpec

SEED_AT = datetime(2026, 1, 1, tzinfo=UTC)


async def seed_directory(settings: CommonSettings) -> None:
    client = mongo_client(settings)
    db = database(client, settings)
    for i, line in enumerate(("first", "second", "third", "commercial", "development"), start=1):
        await DirectoryStore(db, LINES).put(Line(id=line, order=i), actor="bench", at=SEED_AT)
    for i in range(10):
        await DirectoryStore(db, AGENTS).put(Agent(id=f"agent-{i}", name=f"Agent {i}", line_ids=["first", "second"]),
                                             actor="bench", at=SEED_AT)
    await client.close()


def inbound(i: int, run: str) -> bytes:
    msg = InboundMessage(channel="web", external_id=f"{run}-{i}", sender={"email": f"client{i}@{run}.example"},
                         subject="No connection", text="The line is down " * 10, requested_line="plain")
    return msg.model_dump_json().encode()


async def tail_events(settings: CommonSettings, want: str, n: int, seen: dict[str, float],
                      opened_by_external: dict[str, str], stop_at: float) -> None:
    """Record the wall time each ticket's ``want`` event arrives, and which external id opened it."""
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(TICKETS_EVENTS.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    try:
        while len(seen) < n and time.monotonic() < stop_at:
            for records in (await consumer.getmany(timeout_ms=100, max_records=2000)).values():
                now = time.perf_counter()
                for r in records:
                    env = Envelope.from_bytes(r.value)
                    if env.type == "MessageReceived":
                        opened_by_external[env.ticket_id] = env.payload["content"]["external_id"]
                    elif env.type == want and env.ticket_id not in seen:
                        seen[env.ticket_id] = now
    finally:
        await consumer.stop()


async def pipeline(settings: CommonSettings, n: int, rate: float | None, want: str) -> dict[str, Any]:
    run = f"r{int(time.time())}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=2)
    await producer.start()
    sent_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    opened: dict[str, str] = {}
    t0 = time.perf_counter()
    tail = asyncio.create_task(tail_events(settings, want, n, seen, opened, time.monotonic() + 120 + n / 50))
    topic = INBOUND_MESSAGES.full(settings.topic_prefix)
    for i in range(n):
        if rate:
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent_at[f"{run}-{i}"] = time.perf_counter()
        await producer.send(topic, key=f"web:client{i}".encode(), value=inbound(i, run))
    await producer.flush()
    publish_seconds = time.perf_counter() - t0
    await tail
    await producer.stop()
    elapsed = max(seen.values(), default=t0) - t0
    latencies = [seen[tid] - sent_at[ext] for tid, ext in opened.items() if tid in seen and ext in sent_at]
    return {"messages": n, "completed": len(seen), "target_rate_per_s": rate,
            "publish_seconds": round(publish_seconds, 3), "elapsed_seconds": round(elapsed, 3),
            "throughput_per_s": round(len(seen) / elapsed, 1) if elapsed else None,
            "latency_publish_to_" + want: summary_ms(latencies)}


async def ceiling(settings: CommonSettings, n: int) -> dict[str, Any]:
    """Raw aiokafka produce + consume of n records of the pipeline's record size."""
    spec = TopicSpec("bench.ceiling", INBOUND_MESSAGES.partitions, "k", "bench", (), ())
    await ensure_topics(settings, [spec])
    topic = spec.full(settings.topic_prefix)
    payload = inbound(0, "ceiling")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=2)
    await producer.start()
    t0 = time.perf_counter()
    for i in range(n):
        await producer.send(topic, key=str(i).encode(), value=payload)
    await producer.flush()
    produced = time.perf_counter() - t0
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(spec.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    got, t1 = 0, time.perf_counter()
    while got < n and time.perf_counter() - t1 < 60:
        got += sum(len(r) for r in (await consumer.getmany(timeout_ms=200, max_records=5000)).values())
    consumed = time.perf_counter() - t1
    await consumer.stop()
    return {"records": n, "record_bytes": len(payload), "produce_per_s": round(n / produced, 1),
            "consume_per_s": round(got / consumed, 1),
            "produce_plus_consume_per_s": round(n / (produced + consumed), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=None, help="messages per second to offer (default: max)")
    args = parser.parse_args()
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        env = {**base, **isolated_env()}
        settings = make_settings(CommonSettings, env)
        asyncio.run(ensure_topics(settings))
        routing = "routing" in available_services()
        want = "TicketOffered" if routing else "TicketOpened"
        if routing:
            asyncio.run(seed_directory(settings))
        names = ["tickets", "intake"] + (["routing"] if routing else [])
        procs = [ServiceProcess(name, env, Path(logs)).start() for name in names]
        try:
            for p in procs:
                p.wait_ready()
            result = asyncio.run(pipeline(settings, args.messages, args.rate, want))
            raw = asyncio.run(ceiling(settings, args.messages))
        finally:
            for p in procs:
                p.stop()
    result["ceiling_raw_aiokafka"] = raw
    if result.get("throughput_per_s"):
        result["pipeline_share_of_ceiling"] = round(result["throughput_per_s"] / raw["produce_plus_consume_per_s"], 4)
    result["services"] = names
    result["measured_until"] = want
    write_result("pipeline", result)


if __name__ == "__main__":
    main()
