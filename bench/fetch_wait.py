"""Does a longer consumer fetch wait delay a record that arrives during the wait? Per broker kind and wait.

For each broker kind (tools/brokers.py) and each ``fetch_max_wait_ms``: one consumer (aiokafka, as the services
run it) reads a 12-partition topic while a producer sends one record at a random moment (uniform over 1.5 waits
after the last one arrived); publish → consumed latency per record, p50 / p99. Then the broker's CPU (from /proc)
over an idle window with that consumer polling, as a percentage of one core. A broker that answers a waiting fetch
when data arrives shows latencies well under the wait; one that holds the fetch shows about half the wait.

    python -m bench.fetch_wait [--records 40] [--idle-seconds 5] [--waits 10 100 500] [--kinds tansu-s3 tansu-memory]
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
    topic = f"fetch-wait-{wait_ms}-{random.randrange(1 << 30)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
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


def measure(kinds: list[str], waits: list[int], records: int, idle_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in kinds:
        port = free_port()
        broker = brokers.start(kind, None, "127.0.0.1", port)
        try:
            pids = [p.pid for p in broker.processes]
            out[kind] = {f"{w}ms": asyncio.run(_one(broker.bootstrap, w, records, idle_s, pids)) for w in waits}
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
    args = parser.parse_args()
    result = {"by_kind": measure(args.kinds, args.waits, args.records, args.idle_seconds),
              "records_per_setting": args.records}
    write_result("fetch_wait", result)
    merge_latest("fetch_wait")


if __name__ == "__main__":
    main()
