"""The SLA worker's (faust) restart to ready, on the `make up` broker (tansu-s3) next to the memory engine.

Per broker kind, on its own embedded broker and database with `make up`'s group timings: the SLA worker as a
process, tickets opened and assigned (events on ``tickets.events``) until their clocks exist, then
 (a) kill -9 the worker and start it again;
 (b) kill -9 the broker (and its storage process) with the worker left running, and start the broker on its data.
A probe ticket is opened the moment the worker (a) or the broker (b) is started again. Ready = /readyz answers 200
AND the probe's clock is in MongoDB. Then the state must be exact: one clock per ticket opened, each holding exactly
its own two events once. Each restart is also split by the worker's log into phases: interpreter and imports,
preparation (topics, indexes, producer, faust's own imports), faust's start and group join, serving. ``--static``
runs each kind a second time with static group membership (SLA_GROUP_INSTANCE_ID); ``--compare-leave`` runs the
dynamic member first without the restarted worker's leave of its killed predecessor (SLA_LEAVE_STALE_MEMBER=false,
"before"), then with it. Prints a table, writes results/faust_recovery.json and merges it into results/latest.json.

    python -m bench.faust_recovery [--tickets 20] [--rounds 3] [--broker-rounds N] [--timeout 120] [--static]
                                   [--compare-leave] [--session-ms N] [--keep DIR] [kind ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.protocol.admin import CreateTopicsRequest
from pymongo.asynchronous.database import AsyncDatabase

from bench.common import RESULTS, write_result
from bench.sla_recovery_state import PHASES, open_tickets, settled, start_phases
from shared.contracts.collections import SLA_CLOCKS
from shared.contracts.topics import all_topics_with_dead_letters
from shared.runtime.kafka import ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings
from tools.infra import EmbeddedInfra
from tools.processes import ServiceProcess

KINDS = ("tansu-s3", "tansu-memory")
TOPIC_EXISTS = 36


def recreate_topics(host: str, port: int) -> None:
    """The memory engine comes back empty: the topics as declared, on the broker's own port while the gate is shut
    (a client asking first would get Tansu's 4-partition default), as Strimzi's operator does for a lost cluster."""

    async def create() -> None:
        conn = await create_conn(host, port)
        try:
            topics: list[tuple[Any, ...]] = [(spec.full(""), spec.partitions, 1, [], [])
                                             for spec in all_topics_with_dead_letters()]
            resp = await conn.send(CreateTopicsRequest(create_topic_requests=topics, timeout=10_000,
                                                       validate_only=False))
            errors = [(name, code) for name, code, *_ in resp.topic_errors if code not in (0, TOPIC_EXISTS)]
            assert not errors, errors
        finally:
            conn.close()

    asyncio.run(create())


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:  # noqa: S310 (our own loopback worker)
            return resp.status == 200
    except OSError:
        return False


async def until_ready(worker: ServiceProcess, db: AsyncDatabase, probe: str, t0: float,
                      timeout: float) -> dict[str, float | None]:
    """Seconds from ``t0`` to /readyz 200 and to the probe's clock in MongoDB (None: not within ``timeout``)."""
    readyz = effect = None
    while time.monotonic() - t0 < timeout and (readyz is None or effect is None):
        if worker.proc is not None and worker.proc.poll() is not None:
            raise RuntimeError(f"the SLA worker exited with {worker.proc.returncode}; see {worker.log_dir}")
        if readyz is None and await asyncio.to_thread(_ready, worker.url):
            readyz = round(time.monotonic() - t0, 2)
        if effect is None and await db[SLA_CLOCKS].find_one({"_id": probe}, {"_id": 1}):
            effect = round(time.monotonic() - t0, 2)
        await asyncio.sleep(0.05)
    ready = max(readyz, effect) if readyz is not None and effect is not None else None
    return {"readyz_s": readyz, "clock_s": effect, "ready_s": ready}


async def measure(kind: str, tickets: int, rounds: int, timeout: float, root: Path, instance_id: str | None,
                  session_ms: int | None = None, leave: bool = True,
                  broker_rounds: int | None = None) -> dict[str, Any]:
    memory = kind == "tansu-memory"
    where = root / f"{kind}-{instance_id or 'dynamic'}-{session_ms or 'up'}-{'leave' if leave else 'stay'}"
    infra = EmbeddedInfra(data_dir=where, log_dir=where / "log", broker_kind=kind, gated=memory)
    await asyncio.to_thread(infra.start)
    env = {**infra.env, "FRONTLINE_LOG_LEVEL": "INFO", "MONGODB_DB": "recovery"}
    if session_ms:  # other group timings than make up's (Tansu accepts a session under Kafka's 6 s minimum)
        env |= {"KAFKA_SESSION_TIMEOUT_MS": str(session_ms), "KAFKA_HEARTBEAT_INTERVAL_MS": str(session_ms // 6)}
    if instance_id:
        env["SLA_GROUP_INSTANCE_ID"] = instance_id
    env["SLA_LEAVE_STALE_MEMBER"] = str(leave).lower()
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    worker = ServiceProcess("sla", env, where / "log")
    opened: list[str] = []
    membership = f"static ({instance_id})" if instance_id else "dynamic" + ("" if leave else ", no leave")
    row: dict[str, Any] = {"kind": kind, "membership": membership, "leave": leave,
                           "session_timeout_ms": int(env["KAFKA_SESSION_TIMEOUT_MS"]), "tickets": tickets,
                           "worker_kill": [], "broker_kill": []}

    async def probe(name: str, t0: float) -> dict[str, Any]:
        opened.append(name)
        await open_tickets(settings, [name])
        return await until_ready(worker, db, name, t0, timeout)

    async def restart() -> dict[str, Any]:
        spawned, t0 = datetime.now(UTC), time.monotonic()
        worker.start()
        result = await probe(f"{kind}-w{time.time_ns()}", t0)
        return {**result, **start_phases(where / "log" / "sla.log", spawned), "load_1m": os.getloadavg()[0]}

    try:
        await ensure_topics(settings)
        batch = [f"{kind}-r0-{i}" for i in range(tickets)]
        opened += batch
        await open_tickets(settings, batch)
        row["first_start"] = await restart()
        for r in range(1, rounds + 1):
            worker.kill()
            result = {**await restart(), "exact": await settled(db, opened)}
            row["worker_kill"].append(result)
            print(kind, row["membership"], "worker kill", r, result, flush=True)
        for r in range(1, (rounds if broker_rounds is None else broker_rounds) + 1):
            killed = time.monotonic()
            await asyncio.to_thread(infra.stop_broker, True)
            await asyncio.to_thread(infra.start_broker, recreate_topics if memory else None)
            t0 = time.monotonic()
            result = {"broker_down_s": round(t0 - killed, 2), **await probe(f"{kind}-b{r}", t0)}
            result["exact"] = await settled(db, opened)
            row["broker_kill"].append(result)
            print(kind, row["membership"], "broker kill", r, result, flush=True)
    finally:
        worker.kill()
        await client.close()
        await asyncio.to_thread(infra.stop)
    return row


def _median(results: list[dict[str, Any]], key: str) -> str:
    if not any(key in r for r in results):
        return "n/a"
    values = [r[key] for r in results if r.get(key) is not None]
    lost = len(results) - len(values)
    text = f"{statistics.median(values):.1f}" if values else "-"
    return text + (f" ({lost} not within timeout)" if lost else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--keep", type=Path, help="keep data and logs here (default: a temp dir, removed)")
    ap.add_argument("--static", action="store_true", help="also each kind with SLA_GROUP_INSTANCE_ID=sla-0")
    ap.add_argument("--broker-rounds", type=int, help="broker kills per kind (default: --rounds)")
    ap.add_argument("--compare-leave", action="store_true",
                    help="the dynamic member also without the leave of its killed predecessor, first")
    ap.add_argument("--session-ms", type=int, help="KAFKA_SESSION_TIMEOUT_MS instead of make up's")
    ap.add_argument("kinds", nargs="*", default=list(KINDS))
    args = ap.parse_args()
    variants: list[tuple[str | None, bool]] = [(None, False)] if args.compare_leave else []
    variants += [(None, True)] + ([("sla-0", True)] if args.static else [])
    with tempfile.TemporaryDirectory(prefix="frontline-bench-faust-") as tmp:
        root = args.keep or Path(tmp)
        rows = [asyncio.run(measure(kind, args.tickets, args.rounds, args.timeout, root, instance_id, args.session_ms,
                                    leave, args.broker_rounds))
                for kind in args.kinds for instance_id, leave in variants]
    cols = ("readyz_s", "clock_s", "ready_s", *PHASES, "load_1m")
    print("kind | membership | session ms | scenario | " + " | ".join(cols) + " (medians) | ready, each round | exact")
    for row in rows:
        for scenario in ("worker_kill", "broker_kill"):
            results = row[scenario]
            exact = "yes" if all(not r["exact"] for r in results) else "NO"
            print(f"{row['kind']} | {row['membership']} | {row['session_timeout_ms']} | {scenario} | "
                  + " | ".join(_median(results, c) for c in cols)
                  + " | " + " · ".join(str(r["ready_s"]) for r in results) + f" | {exact}")
    result = {"tickets": args.tickets, "rounds": args.rounds, "timeout_s": args.timeout, "kinds": rows}
    write_result("faust_recovery", result)
    latest = RESULTS / "latest.json"
    merged = json.loads(latest.read_text()) if latest.exists() else {}
    merged.setdefault("results", {})["faust_recovery"] = result
    latest.write_text(json.dumps(merged, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
