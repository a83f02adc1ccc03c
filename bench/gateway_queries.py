"""Queue query latency (p50/p99) and reads/s through the gateway's HTTP API with many open tickets.

Seeds ``--tickets`` valid open tickets straight into the ledger's ``tickets`` collection (bulk insert,
with the ledger's own indexes), runs the gateway service as its own process and measures every queue
as an administrator (whole desk) and as a specialist (scoped to one team and line), paged lists, one
ticket by id, and reads/s (queues; tickets by id) from concurrent clients. On start the gateway copies the tickets
it has not seen into its own history-less copies and builds the indexes its queues read on them
(services/gateway/queries/views.py and store.py), as it does when deployed.

    python -m bench.gateway_queries --tickets 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import infra, percentile, summary_ms, write_result
from bench.measure import Usage, infra_pids
from services.gateway.access.auth import mint_token
from services.gateway.settings import GatewaySettings
from services.tickets.store import INDEXES
from shared.contracts.schemas.common import Channel, ClientRef, TicketStatus
from shared.contracts.ticket import Ticket
from shared.runtime.clock import FileClock, ManualClock
from shared.runtime.kafka import ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.testing import isolated_env, make_settings
from tools.processes import ServiceProcess

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
QUEUES = ["offers", "mine", "needs_reply", "time_limit", "overdue", "long_ignored", "lost", "unidentified",
          "development"]
ACTIVE = [TicketStatus.new, TicketStatus.offered, TicketStatus.assigned, TicketStatus.in_progress,
          TicketStatus.waiting_customer]
AGENTS = [f"agent-{i}" for i in range(200)]
TEAMS = [f"team-{i}" for i in range(20)]
LINES = ["first", "second", "third"]
FLAG_RATES = (("sla_breached", 0.03), ("long_ignored", 0.02), ("lost", 0.01))

def ticket_id(i: int) -> str:
    return f"B-{i:07d}"


def ticket_doc(i: int, rng: random.Random) -> dict[str, Any]:
    status = rng.choice(ACTIVE)
    created = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 20))
    agent = rng.choice(AGENTS)
    unidentified = rng.random() < 0.05
    child = rng.random() < 0.02
    t = Ticket(
        id=ticket_id(i), number=i + 1, version=3, status=status, channel=rng.choice(list(Channel)[:5]),
        subject=f"Ticket {i}", unidentified=unidentified,
        client=None if unidentified else ClientRef(client_id=f"C-{rng.randint(1, 20000)}",
                                                   service_team_id=rng.choice(TEAMS)),
        line="development" if child else rng.choice(LINES),
        service_team_id=None if unidentified else rng.choice(TEAMS),
        offered_to=rng.sample(AGENTS, 3) if status == TicketStatus.offered else [],
        assignee_id=agent if status in ACTIVE[2:] else None,
        flags={k: True for k, p in FLAG_RATES if rng.random() < p},
        parent_id=f"B-{rng.randint(0, max(i - 1, 0)):07d}" if child else None,
        deadline=NOW + timedelta(minutes=rng.randint(-600, 3000)) if rng.random() < 0.1 else None,
        last_message_from=rng.choice(["client", "agent", None]),
        last_client_message_at=created + timedelta(minutes=5),
        created_at=created, updated_at=created + timedelta(minutes=rng.randint(0, 600)), status_changed_at=created,
    )
    doc = t.to_doc()
    doc["history"] = []
    return doc


async def seed(db: Any, n: int) -> float:
    rng = random.Random(42)
    await ensure_indexes(db, {"tickets": INDEXES["tickets"]})
    t0 = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for i in range(n):
        batch.append(ticket_doc(i, rng))
        if len(batch) == 5000:
            await db.tickets.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await db.tickets.insert_many(batch, ordered=False)
    return time.perf_counter() - t0


async def measure(http: httpx.AsyncClient, headers: dict[str, str], rounds: int, budget: float,
                  n: int, usage: Usage) -> dict[str, Any]:
    """Up to ``rounds`` sequential requests per queue, fewer (at least 3) if one queue exceeds ``budget`` seconds.

    Besides the latencies (which follow the host's load), each queue's CPU ms per request of the gateway and
    the database processes and its database commands per request, which do not.
    """
    out: dict[str, Any] = {}
    for q in QUEUES:
        mark = usage.mark()
        params = {"limit": 50, **({"agent_id": AGENTS[7]} if q in ("offers", "mine") else {})}
        lat: list[float] = []
        items = 0
        started = time.perf_counter()
        for _ in range(rounds):
            if len(lat) >= 3 and time.perf_counter() - started > budget:
                break
            t0 = time.perf_counter()
            resp = await http.get(f"/api/v1/queues/{q}", params=params, headers=headers)
            lat.append(time.perf_counter() - t0)
            assert resp.status_code == 200, resp.text
            items = len(resp.json()["items"])
        cost = Usage.per(mark, usage.mark(), len(lat))
        out[q] = {**summary_ms(lat), "page_items": items, "cpu_ms_per_request": cost["cpu_ms_by_process"],
                  "db_commands_per_request": cost["db_ops"]}
    # deep pagination: five pages of the whole-desk list
    lat = []
    started = time.perf_counter()
    for _ in range(max(rounds // 5, 2)):
        if lat and time.perf_counter() - started > budget:
            break
        cursor = None
        for _page in range(5):
            t0 = time.perf_counter()
            resp = await http.get("/api/v1/tickets", params={"limit": 50, **({"cursor": cursor} if cursor else {})},
                                  headers=headers)
            lat.append(time.perf_counter() - t0)
            cursor = resp.json()["next_cursor"]
    out["tickets_list_paged"] = summary_ms(lat)
    # one ticket by id (what an agent opens from a queue), random ids across the whole collection
    rng, lat = random.Random(7), []
    started = time.perf_counter()
    for _ in range(rounds * 2):
        if len(lat) >= 3 and time.perf_counter() - started > budget:
            break
        t0 = time.perf_counter()
        resp = await http.get(f"/api/v1/tickets/{ticket_id(rng.randrange(n))}", headers=headers)
        lat.append(time.perf_counter() - t0)
        assert resp.status_code in (200, 404), resp.text  # 404: outside a specialist's scope
    out["ticket_by_id"] = summary_ms(lat)
    return out


async def throughput(http: httpx.AsyncClient, headers: dict[str, str], seconds: float, workers: int,
                     n: int | None = None) -> float:
    """Requests/s from ``workers`` concurrent clients: the queues in turn, or (``n``) tickets by random id."""
    stop = time.perf_counter() + seconds
    done = 0

    async def worker(k: int) -> None:
        nonlocal done
        i, rng = k, random.Random(k)
        while time.perf_counter() < stop:
            if n is None:
                resp = await http.get(f"/api/v1/queues/{QUEUES[i % len(QUEUES)]}", params={"limit": 50},
                                      headers=headers)
            else:
                resp = await http.get(f"/api/v1/tickets/{ticket_id(rng.randrange(n))}", headers=headers)
            assert resp.status_code == 200
            done += 1
            i += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(workers)))
    return done / (time.perf_counter() - t0)


async def run(n: int, rounds: int, seconds: float, workers: int, budget: float) -> dict[str, Any]:
    with infra() as base:
        env = {**base, **isolated_env()}
        settings = make_settings(GatewaySettings, env)
        client = mongo_client(settings)
        db = database(client, settings)
        seed_s = await seed(db, n)
        print(f"seeded {n} tickets in {seed_s:.0f}s", flush=True)
        clock = ManualClock(NOW)
        await ensure_topics(settings)
        # The gateway is its own OS process (as deployed); its clock reads NOW from a shared clock file.
        logs = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
        FileClock.write(logs / "clock.json", NOW)
        gateway = ServiceProcess("gateway", {**env, "FRONTLINE_CLOCK_FILE": str(logs / "clock.json"),
                                             "FRONTLINE_LOG_LEVEL": "WARNING"}, logs)
        await asyncio.to_thread(gateway.start().wait_ready, 1800)  # builds its queue indexes first
        admin = {"Authorization": f"Bearer {mint_token(settings, 'root', 'administrator', clock=clock)}"}
        spec = {"Authorization": f"Bearer {mint_token(settings, AGENTS[7], 'specialist', clock=clock, teams=[TEAMS[3]], lines=['first'])}"}  # noqa: E501
        results: dict[str, Any] = {"tickets": n, "seed_seconds": round(seed_s, 1), "page_size": 50,
                                   "transport": "httpx (bench process) → gateway service process on loopback"}
        try:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=600) as http:
                # the gateway built its queue indexes (services/gateway/store.py) on start, as deployed
                print("measuring", flush=True)
                assert gateway.proc is not None
                usage = Usage({"gateway": gateway.proc.pid, **infra_pids(env)}, {"gateway": gateway.metrics_url})
                admin_q = await measure(http, admin, rounds, budget, n, usage)
                spec_q = await measure(http, spec, rounds, budget, n, usage)
                rps = await throughput(http, admin, seconds, workers)
                ticket_rps = await throughput(http, admin, seconds, workers, n)
                queue_p99s = [v["p99_ms"] for q in (admin_q, spec_q) for k, v in q.items() if k in QUEUES]
                results.update({"administrator": admin_q, "specialist": spec_q,
                                "queue_reads_per_second": round(rps, 1),
                                "ticket_reads_per_second": round(ticket_rps, 1), "concurrency": workers,
                                "worst_queue_p99_ms": round(max(queue_p99s), 2),
                                "median_queue_p50_ms": round(percentile(
                                    [v["p50_ms"] for k, v in admin_q.items() if k in QUEUES], 50), 2)})
        finally:
            gateway.stop()
            await client.close()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=50, help="sequential requests per queue and role")
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput phase duration")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--budget", type=float, default=20.0, help="max seconds per queue measurement")
    args = parser.parse_args()
    results = asyncio.run(run(args.tickets, args.rounds, args.seconds, args.workers, args.budget))
    write_result("gateway_queries", {**results, "partial": False})


if __name__ == "__main__":
    main()
