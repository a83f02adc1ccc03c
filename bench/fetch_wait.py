"""Does a longer consumer fetch wait delay a record that arrives during the wait? Per broker kind and wait.

For each broker kind (tools/brokers.py) and each ``fetch_max_wait_ms``: one consumer (aiokafka, as the services
run it) reads a 12-partition topic while a producer sends one record at a random moment (uniform over 1.5 waits
after the last one arrived); publish → consumed latency per record, p50 / p99. Then the broker's CPU (from /proc)
over an idle window with that consumer polling, as a percentage of one core. A broker that answers a waiting fetch
when data arrives shows latencies well under the wait; one that holds the fetch shows about half the wait.

``--adaptive SHORT IDLE`` adds the services' adaptive wait (shared/runtime/fetch_wait.py): a reader loop as the
services run it, records sent one at a time after a quiet spell (``--quiet-seconds`` plus up to one idle wait, so the
wait has grown) and then while records flow (each 50 ms after the last arrived); publish → consumed latency of each.

    python -m bench.fetch_wait [--records 40] [--idle-seconds 5] [--waits 10 100 500] [--kinds tansu-s3 tansu-memory]
                               [--adaptive 10 1000] [--quiet-seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import summary_ms, write_result
from bench.measure import merge_latest
from shared.runtime.fetch_wait import AdaptiveConsumer, FetchWait
from tools import brokers
from tools.ports import free_port

PARTITIONS = 12
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ms(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (after the state field)
        except OSError:
            pass
    return total * 1000 / TICKS


async def _one(bs: str, wait_ms: int, records: int, idle_s: float, pids: list[int]) -> dict[str, Any]:
    topic = await _topic(bs, f"fetch-wait-{wait_ms}")
    producer = AIOKafkaProducer(bootstrap_servers=bs, acks="all", linger_ms=0, enable_idempotence=False)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bs, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=wait_ms)
    await producer.start()
    await consumer.start()
    try:
        while not consumer.assignment():  # the topic is new and empty: nothing is read meanwhile
            await consumer.getmany(timeout_ms=50)
        await asyncio.sleep(1)  # the consumer's fetch loop is running
        latencies: list[float] = []
        for i in range(records):
            await asyncio.sleep(random.uniform(0, 1.5 * wait_ms / 1000))  # lands anywhere in a pending fetch
            sent = time.perf_counter()
            await producer.send(topic, str(i).encode(), partition=i % PARTITIONS)
            got = False
            while not got:
                batches = await consumer.getmany(timeout_ms=5000)
                got = any(r.value == str(i).encode() for rs in batches.values() for r in rs)
            latencies.append(time.perf_counter() - sent)
        before, t0 = _cpu_ms(pids), time.monotonic()
        await asyncio.sleep(idle_s)  # the consumer keeps fetching in the background: nothing arrives
        idle_pct = (_cpu_ms(pids) - before) / (time.monotonic() - t0) / 10
        return {**summary_ms(latencies), "broker_idle_cpu_percent_of_one_core": round(idle_pct, 2)}
    finally:
        await consumer.stop()
        await producer.stop()


async def _topic(bs: str, name: str) -> str:
    topic = f"{name}-{random.randrange(1 << 30)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    return topic


async def _adaptive(bs: str, short_ms: int, idle_ms: int, records: int, quiet_s: float,
                    pids: list[int]) -> dict[str, Any]:
    topic = await _topic(bs, f"fetch-wait-adaptive-{short_ms}-{idle_ms}")
    producer = AIOKafkaProducer(bootstrap_servers=bs, acks="all", linger_ms=0, enable_idempotence=False)
    consumer = AdaptiveConsumer(topic, bootstrap_servers=bs, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_wait=FetchWait(short_ms, idle_ms))
    arrived: dict[bytes, asyncio.Event] = {}

    async def read() -> None:  # as the services do: getmany in a loop, so the wait follows what arrives
        while True:
            for rs in (await consumer.getmany(timeout_ms=1000)).values():
                for r in rs:
                    arrived.setdefault(r.value, asyncio.Event()).set()

    async def one(value: bytes, partition: int) -> tuple[float, int | None]:
        wait_then, sent = consumer.fetch_wait_ms, time.perf_counter()
        await producer.send(topic, value, partition=partition)
        await asyncio.wait_for(arrived.setdefault(value, asyncio.Event()).wait(), 30)
        return time.perf_counter() - sent, wait_then

    await producer.start()
    await consumer.start()
    reader: asyncio.Task[None] | None = None
    try:
        while not consumer.assignment():  # the topic is new and empty: nothing is read meanwhile
            await consumer.getmany(timeout_ms=50)
        reader = asyncio.create_task(read())
        quiet: list[float] = []
        waits_then: list[int | None] = []
        quiet_cpu_ms_per_s = 0.0
        for i in range(records):
            t0, before = time.monotonic(), _cpu_ms(pids)
            await asyncio.sleep(quiet_s + random.uniform(0, idle_ms / 1000))  # lands anywhere in a long fetch
            quiet_cpu_ms_per_s += (_cpu_ms(pids) - before) / (time.monotonic() - t0)
            latency, wait_then = await one(f"quiet-{i}".encode(), i % PARTITIONS)
            quiet.append(latency)
            waits_then.append(wait_then)
        flowing: list[float] = []
        for i in range(records):
            await asyncio.sleep(0.05)
            flowing.append((await one(f"flow-{i}".encode(), i % PARTITIONS))[0])
        return {"after_quiet": summary_ms(quiet), "flowing": summary_ms(flowing),
                "wait_ms_before_quiet_records": sorted(set(waits_then), key=str),
                "wait_ms_after_flow": consumer.fetch_wait_ms,
                "broker_quiet_cpu_percent_of_one_core": round(quiet_cpu_ms_per_s / records / 10, 2)}
    finally:
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        await consumer.stop()
        await producer.stop()


def measure(kinds: list[str], waits: list[int], records: int, idle_s: float,
            adaptive: list[int] | None = None, quiet_s: float = 3.0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in kinds:
        port = free_port()
        broker = brokers.start(kind, None, "127.0.0.1", port)
        try:
            pids = [p.pid for p in broker.processes]
            out[kind] = {f"{w}ms": asyncio.run(_one(broker.bootstrap, w, records, idle_s, pids)) for w in waits}
            if adaptive:
                short, idle = adaptive
                out[kind][f"adaptive_{short}_{idle}ms"] = r = asyncio.run(
                    _adaptive(broker.bootstrap, short, idle, records, quiet_s, pids))
                print(f"{kind:13} adaptive {short}->{idle} ms: after {quiet_s:.0f} s quiet p50 "
                      f"{r['after_quiet']['p50_ms']:7.1f} p99 {r['after_quiet']['p99_ms']:7.1f} ms; flowing p50 "
                      f"{r['flowing']['p50_ms']:7.1f} p99 {r['flowing']['p99_ms']:7.1f} ms; broker while quiet "
                      f"{r['broker_quiet_cpu_percent_of_one_core']:5.1f} % of a core", flush=True)
        finally:
            broker.stop()
        for w in waits:
            r = out[kind][f"{w}ms"]
            print(f"{kind:13} wait {w:4} ms: p50 {r['p50_ms']:7.1f} p99 {r['p99_ms']:7.1f} ms, "
                  f"broker idle {r['broker_idle_cpu_percent_of_one_core']:5.1f} % of a core", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--waits", type=int, nargs="*", default=[10, 100, 500])
    parser.add_argument("--kinds", nargs="*", default=["tansu-s3", "tansu-memory"])
    parser.add_argument("--adaptive", type=int, nargs=2, metavar=("SHORT_MS", "IDLE_MS"),
                        help="also the services' adaptive wait, from SHORT_MS while records flow to IDLE_MS")
    parser.add_argument("--quiet-seconds", type=float, default=3.0, help="pause before each after-quiet record")
    args = parser.parse_args()
    result = {"by_kind": measure(args.kinds, args.waits, args.records, args.idle_seconds, args.adaptive,
                                 args.quiet_seconds),
              "records_per_setting": args.records}
    write_result("fetch_wait", result)
    merge_latest("fetch_wait")


if __name__ == "__main__":
    main()
