"""The one-machine broker kinds side by side (tools/brokers.py), measured in one run on this machine.

Per kind: start time; produce and consume rates (10,000 records of ~100 B, acks=all, aiokafka); the end offset it
reports for them; whether an idempotent and a transactional producer work; what survives a kill -9 of the broker
(and of its storage process) taken the moment the last of another 10,000 records is acknowledged, with a group's
committed offset; memory (RSS of its processes) and disk footprint. Prints a table, writes results/brokers.json
and merges it as ``results.brokers`` into results/latest.json (other keys are kept).

    python -m bench.brokers [--records N] [kind ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import RESULTS, write_result
from tools import brokers
from tools.ports import free_port

PAYLOAD = b"x" * 100
GROUP = "bench-readers"


def _rss_mb(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0
    for proc in procs:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
        except (OSError, StopIteration):
            pass
    return round(total / 1024, 1)


def _du_mb(path: Path | None) -> float:
    if path is None or not path.exists():
        return 0.0
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


async def _produce(bs: str, topic: str, n: int, acknowledged: Callable[[], None] = lambda: None) -> float:
    """Send ``n`` records; ``acknowledged()`` runs the moment the last is acknowledged. Returns the seconds taken."""
    producer = AIOKafkaProducer(bootstrap_servers=bs, acks="all", linger_ms=5, enable_idempotence=False)
    await producer.start()
    try:
        t = time.monotonic()
        await asyncio.gather(*[await producer.send(topic, PAYLOAD) for _ in range(n)])
        acknowledged()
        return time.monotonic() - t
    finally:
        await asyncio.wait_for(producer.stop(), 30)


async def _consume(bs: str, topic: str, n: int, deadline: float = 60) -> tuple[int, float, int]:
    """Read up to ``n`` records from the start; returns (count, seconds, reported end offset)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bs, group_id=GROUP, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=2000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got, t = 0, time.monotonic()
        while got < n and time.monotonic() - t < deadline:
            got += sum(len(v) for v in (await consumer.getmany(timeout_ms=500)).values())
        took = time.monotonic() - t
        if got:
            await consumer.commit({tp: got})
        return got, took, (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def _committed(bs: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bs, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()


async def _works(bs: str, topic: str, **kw: Any) -> bool:
    """Whether a producer with these settings can start, send and (when transactional) commit."""
    producer = AIOKafkaProducer(bootstrap_servers=bs, acks="all", request_timeout_ms=10_000, **kw)
    try:
        await asyncio.wait_for(producer.start(), 20)
        if "transactional_id" in kw:
            async with producer.transaction():
                await producer.send_and_wait(topic, PAYLOAD)
        else:
            await asyncio.wait_for(producer.send_and_wait(topic, PAYLOAD), 20)
        return True
    except Exception:  # noqa: BLE001 (any refusal is the answer)
        return False
    finally:
        await asyncio.wait_for(producer.stop(), 20)


async def measure(kind: str, n: int, root: Path) -> dict[str, Any]:
    data = None if kind == "tansu-memory" else root / kind
    port = free_port()
    t = time.monotonic()
    broker = await asyncio.to_thread(brokers.start, kind, data, "127.0.0.1", port, log_dir=root / "log" / kind)
    row: dict[str, Any] = {"kind": kind, "start_s": round(time.monotonic() - t, 2)}
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(name, 1, 1) for name in ("rate", "durable", "idem", "txn")])
        await admin.close()
        row["produce_rec_s"] = round(n / await _produce(broker.bootstrap, "rate", n))
        got, took, end = await _consume(broker.bootstrap, "rate", n)
        row |= {"consume_rec_s": round(got / took), "end_offset": end, "end_offset_correct": end == n}
        row["idempotent"] = await _works(broker.bootstrap, "idem", enable_idempotence=True)
        row["transactional"] = await _works(broker.bootstrap, "txn", transactional_id=f"bench-{kind}")
        row["rss_mb"] = _rss_mb(broker.processes)
        await _produce(broker.bootstrap, "durable", n, acknowledged=broker.kill)
        row["disk_mb"] = _du_mb(data)
        t = time.monotonic()
        broker = await asyncio.to_thread(brokers.start, kind, data, "127.0.0.1", port, log_dir=root / "log" / kind)
        row["restart_s"] = round(time.monotonic() - t, 2)
        kept, _, _ = await _consume(broker.bootstrap, "durable", n, deadline=20)
        row |= {"kept_after_kill9": kept, "offset_kept_after_kill9": await _committed(broker.bootstrap, "rate") == n}
    finally:
        broker.stop()
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("kinds", nargs="*", default=list(brokers.KINDS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="frontline-bench-brokers-") as tmp:
        rows = [asyncio.run(measure(kind, args.records, Path(tmp))) for kind in args.kinds]
    cols = list(rows[0])
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in cols))
    result = {"records": args.records, "payload_bytes": len(PAYLOAD), "kinds": rows}
    write_result("brokers", result)
    latest = RESULTS / "latest.json"
    merged = json.loads(latest.read_text()) if latest.exists() else {}
    merged.setdefault("results", {})["brokers"] = result
    latest.write_text(json.dumps(merged, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
