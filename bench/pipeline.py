"""Pipeline throughput and latency: inbound.messages → intake → ledger → routing → TicketOffered.

The ledger, intake and routing run as separate OS processes on the real broker and database; a
directory of online agents is seeded so routing offers every ticket. A tail consumer on
``tickets.events`` records when each ticket's ``TicketOffered`` arrives and, from the ticket's
``MessageReceived``, which inbound message opened it. Two phases on the same services:

* saturation: ``--messages`` published as fast as the producer goes; throughput is tickets offered
  per second from the first publish to the last offer (the latency here is mostly queueing);
* sustained: messages offered at a fixed rate (``--rate``, default 70 % of the saturation throughput)
  for ``--sustain-seconds``; reports the rate achieved and p50/p99 latency publish → TicketOffered.

Beside it, in the same run, the ceiling: raw aiokafka produce, then consume, of the same number of
records of the same size on the same broker; the pipeline is reported as a fraction of it.
Routing's claim timeout is set to an hour so no auto-assignment (a later step, not this path)
runs during the measurement.

Across the saturation phase it also reads what each ticket cost (``bench.measure``): database commands per
ticket by service and command (``db_ops_per_ticket``, from each service's ``frontline_db_commands_total``) and
CPU milliseconds per ticket by process, the broker and the database included (``cpu_ms_per_ticket``).

    python -m bench.pipeline --messages 2000 [--rate 20] [--sustain-seconds 30]
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

from bench import hops
from bench.common import infra, summary_ms, write_result
from bench.measure import Usage, infra_pids, merge_latest
from shared.contracts.envelope import Envelope
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_COMMANDS, TICKETS_EVENTS, TopicSpec
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.runtime.kafka import ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import isolated_env, make_settings
from tools.cli import available_services
from tools.processes import ServiceProcess

SEED_AT = datetime(2026, 1, 1, tzinfo=UTC)
WANT = "TicketOffered"
SERVICES = ["tickets", "intake", "routing"]


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


class Tail:
    """Arrival time of each ticket's TicketOffered, the inbound message (external id) that opened it, and the
    producer timestamp of each type of record on the way (``bench.hops``)."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.offered: dict[str, float] = {}
        self.offered_wall: dict[str, float] = {}
        self.external: dict[str, str] = {}
        self.stamps: dict[str, dict[str, float]] = {}
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=None,
                                         enable_auto_commit=False, auto_offset_reset="earliest",
                                         # the services' short wait: on Tansu a shorter one costs broker CPU
                                         # that is counted as the pipeline's (hops: "bench reader")
                                         fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms)
        await self.consumer.start()
        tps = [TopicPartition(spec.full(self.settings.topic_prefix), p)
               for spec in (TICKETS_EVENTS, TICKETS_COMMANDS) for p in range(spec.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)

    def done(self, run: str) -> int:
        return sum(1 for tid in self.offered if self.external.get(tid, "").startswith(run + "-"))

    async def follow(self, run: str, n: int, stop_at: float) -> None:
        assert self.consumer is not None
        while self.done(run) < n and time.monotonic() < stop_at:
            for records in (await self.consumer.getmany(timeout_ms=50, max_records=5000)).values():
                now, wall = time.perf_counter(), time.time()
                for r in records:  # type and ticket from the header and key: only the opening is parsed
                    kind, ticket_id = dict(r.headers).get("type", b"").decode(), r.key.decode()
                    self.stamps.setdefault(ticket_id, {}).setdefault(kind, r.timestamp / 1000)
                    if kind == "MessageReceived":
                        env = Envelope.from_bytes(r.value)
                        self.external.setdefault(ticket_id, env.payload["content"]["external_id"])
                    elif kind == WANT:
                        self.offered.setdefault(ticket_id, now)
                        self.offered_wall.setdefault(ticket_id, wall)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()


async def phase(settings: CommonSettings, tail: Tail, run: str, n: int, rate: float | None,
                timeout: float, metrics: dict[str, str]) -> dict[str, Any]:
    """Publish ``n`` inbound messages (paced at ``rate``/s, or as fast as possible) and follow them to the offer."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=2)
    await producer.start()
    histograms = hops.scrape(metrics)
    sent_at: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    topic = INBOUND_MESSAGES.full(settings.topic_prefix)
    t0 = time.perf_counter()
    follow = asyncio.create_task(tail.follow(run, n, time.monotonic() + timeout))
    for i in range(n):
        if rate:
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent_at[f"{run}-{i}"], sent_wall[f"{run}-{i}"] = time.perf_counter(), time.time()
        await producer.send(topic, key=f"web:client{i}@{run}".encode(), value=inbound(i, run))
    await producer.flush()
    publish_seconds = time.perf_counter() - t0
    await follow
    await producer.stop()
    mine = {tid: tail.offered[tid] for tid, ext in tail.external.items() if ext in sent_at and tid in tail.offered}
    latencies = [at - sent_at[tail.external[tid]] for tid, at in mine.items()]
    last = max(mine.values(), default=t0)
    elapsed = last - t0
    ordered = sorted(latencies)
    return {"messages": n, "offered_rate_per_s": rate, "completed": len(mine),
            "all_completed": len(mine) == n, "publish_seconds": round(publish_seconds, 3),
            "achieved_publish_rate_per_s": round(n / publish_seconds, 1) if publish_seconds else None,
            "first_publish_to_last_offer_seconds": round(elapsed, 3),
            "throughput_per_s": round(len(mine) / elapsed, 1) if elapsed > 0 else None,
            "last_offer_after_last_publish_seconds": round(last - t0 - publish_seconds, 3),
            "latency_publish_to_TicketOffered": summary_ms(ordered),
            "hops_per_ticket": hops.per_ticket(sent_wall, tail.stamps, tail.offered_wall, tail.external),
            "hop_split_by_service": hops.split(histograms, hops.scrape(metrics)),
            }


async def ceiling(settings: CommonSettings, n: int) -> dict[str, Any]:
    """Raw aiokafka produce, then consume, of n records of the pipeline's record size."""
    spec = TopicSpec("bench.ceiling", INBOUND_MESSAGES.partitions, "k", "bench", (), ())
    await ensure_topics(settings, [spec])
    topic = spec.full(settings.topic_prefix)
    payload = inbound(0, "ceiling")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=2, acks="all")
    await producer.start()
    t0 = time.perf_counter()
    for i in range(n):
        await producer.send(topic, key=str(i).encode(), value=payload)
    await producer.flush()
    produced = time.perf_counter() - t0
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(spec.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    got, t1 = 0, time.perf_counter()
    while got < n and time.perf_counter() - t1 < 60:
        got += sum(len(r) for r in (await consumer.getmany(timeout_ms=200, max_records=5000)).values())
    consumed = time.perf_counter() - t1
    await consumer.stop()
    return {"records": n, "consumed": got, "record_bytes": len(payload), "produce_per_s": round(n / produced, 1),
            "consume_per_s": round(got / consumed, 1),
            "produce_plus_consume_per_s": round(n / (produced + consumed), 1)}


async def measure(settings: CommonSettings, n: int, rate: float | None, sustain_seconds: float,
                  usage: Usage) -> dict[str, Any]:
    metrics = usage.metrics
    tail = Tail(settings)
    await tail.start()
    try:
        base = f"r{int(time.time())}"
        # a few tickets first: connections, caches and the first group fetches are not measured
        warm = await phase(settings, tail, f"{base}w", 20, None, 120, metrics)
        before = usage.mark()
        saturation = await phase(settings, tail, f"{base}s", n, None, 120 + n / 2, metrics)
        saturation["cost_per_ticket"] = usage.per(before, usage.mark(), max(saturation["completed"], 1))
        sustained_rate = rate or max(round(0.7 * (saturation["throughput_per_s"] or 1.0), 1), 1.0)
        count = max(int(sustained_rate * sustain_seconds), 1)
        sustained = await phase(settings, tail, f"{base}p", count, sustained_rate, 120 + sustain_seconds * 3,
                                metrics)
    finally:
        await tail.stop()
    return {"warmup_completed": warm["completed"], "saturation": saturation, "sustained": sustained}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000, help="saturation phase: messages published at once")
    parser.add_argument("--rate", type=float, default=None,
                        help="sustained phase: messages per second (default: 70%% of the saturation throughput)")
    parser.add_argument("--sustain-seconds", type=float, default=30.0)
    args = parser.parse_args()
    missing = [s for s in SERVICES if s not in available_services()]
    if missing:
        raise SystemExit(f"the pipeline benchmark needs the services {missing}")
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        env = {**base, **isolated_env(), "ROUTING_CLAIM_TIMEOUT_SECONDS": "3600", "FRONTLINE_LOG_LEVEL": "WARNING"}
        settings = make_settings(CommonSettings, env)
        asyncio.run(ensure_topics(settings))
        asyncio.run(seed_directory(settings))
        procs = [ServiceProcess(name, env, Path(logs)).start() for name in SERVICES]
        try:
            for p in procs:
                p.wait_ready()
            usage = Usage({**{p.name: p.proc.pid for p in procs if p.proc}, **infra_pids(env)},
                          {p.name: p.metrics_url for p in procs})
            result = asyncio.run(measure(settings, args.messages, args.rate, args.sustain_seconds, usage))
            raw = asyncio.run(ceiling(settings, args.messages))
        finally:
            for p in procs:
                p.stop()
    result["ceiling_raw_aiokafka"] = raw
    for name in ("saturation", "sustained"):
        rate = result[name]["throughput_per_s"]
        if rate:
            result[name]["share_of_ceiling"] = round(rate / raw["produce_plus_consume_per_s"], 4)
    cost = result["saturation"]["cost_per_ticket"]
    result["saturation_throughput_per_s"] = result["saturation"]["throughput_per_s"]
    result["db_ops_per_ticket"] = cost["db_ops"]  # open → offered, every service's commands summed
    result["db_ops_per_ticket_by_service"] = cost["db_ops_by_service"]
    result["cpu_ms_per_ticket"] = cost["cpu_ms"]  # every process, the broker and the database included
    result["cpu_ms_per_ticket_by_process"] = cost["cpu_ms_by_process"]
    result["services"] = SERVICES
    result["measured_until"] = WANT
    result["consumer_fetch_max_wait_ms"] = settings.kafka_fetch_max_wait_ms
    result["routing_claim_timeout_seconds"] = 3600
    write_result("pipeline", result)
    merge_latest("pipeline")
    if not (result["saturation"]["all_completed"] and result["sustained"]["all_completed"]):
        raise SystemExit("not every message reached TicketOffered before the timeout (see 'completed')")


if __name__ == "__main__":
    main()
