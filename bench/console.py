"""The console's server time and page weight with ``--tickets`` offered to one specialist (goal: < 200 ms, < 300 kB).

The ledger, routing, the gateway and the console run as their own OS processes on the real broker and database.
``--tickets`` OpenTicket commands go to the ledger's command topic at once (as bench.routing_latency sends them);
routing offers every one to the only agent on the first line. One of them gets a conversation (claimed, taken into
work, replies and notes through the gateway), so the ticket page renders a real thread. Signed in through the
development sign-in page, the bench times ``--requests`` sequential GETs of each page from loopback (the console's
server time, gateway calls included) and, beside it, the same gateway calls the page makes, with the same token,
made the way the page makes them (one after another or together); the difference is the console's own share.
A page's weight is its HTML plus every /static asset it references.

    python -m bench.console --tickets 1000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import infra, percentile, summary_ms, write_result
from bench.measure import merge_latest
from services.console.routes.workspace import PAGE_SIZE
from services.console.session import COOKIE, Sessions
from services.console.settings import ConsoleSettings
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, RequestedLine
from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.console_client import HTML, dev_sign_in
from tests.support.testing import eventually, isolated_env, make_settings
from tools.processes import ServiceProcess

AGENT = "bench-spec"
GOAL_MS, GOAL_BYTES = 200.0, 300_000
STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"]+)"')
Calls = Callable[[httpx.AsyncClient], Awaitable[object]]


async def seed(settings: CommonSettings) -> None:
    client = mongo_client(settings)
    db, at = database(client, settings), datetime.now(UTC)
    for i, line in enumerate(("first", "second", "third", "commercial", "development"), start=1):
        await DirectoryStore(db, LINES).put(Line(id=line, order=i), actor="bench", at=at)
    await DirectoryStore(db, AGENTS).put(Agent(id=AGENT, name="Bench Specialist", line_ids=["first"]),
                                         actor="bench", at=at)
    await client.close()


async def open_tickets(settings: CommonSettings, n: int) -> list[str]:
    bus = KafkaBus(settings, "bench")
    await bus.start()
    ids = [f"C-{datetime.now(UTC):%H%M%S}-{i:05d}" for i in range(n)]
    try:
        for i, tid in enumerate(ids):
            await bus.publish(TICKETS_COMMANDS, envelope_for(
                t.OpenTicket(channel=Channel.web, subject=f"No connection at site {i}", text="The line is down. " * 8,
                             requested_line=RequestedLine.plain), tid, occurred_at=datetime.now(UTC), actor="bench"))
    finally:
        await bus.stop()
    return ids


async def converse(gw: httpx.AsyncClient, tid: str) -> None:
    """Claim, take into work, three replies and two notes: a thread for the ticket page to render."""
    async def status_is(want: str) -> bool:
        return (await gw.get(f"/tickets/{tid}")).json().get("status") == want

    assert (await gw.post(f"/tickets/{tid}/claim")).status_code < 300
    await eventually(lambda: status_is("assigned"), timeout=60)
    assert (await gw.post(f"/tickets/{tid}/start")).status_code < 300
    await eventually(lambda: status_is("in_progress"), timeout=60)
    for k in range(3):
        resp = await gw.post(f"/tickets/{tid}/reply", json={"text": f"Reply {k}: checking the line. " * 4})
        assert resp.status_code < 300, resp.text
    for k in range(2):
        resp = await gw.post(f"/tickets/{tid}/notes", json={"text": f"Note {k} for the team."})
        assert resp.status_code < 300, resp.text

    async def thread_done() -> bool:
        history = (await gw.get(f"/tickets/{tid}", params={"history": "true"})).json().get("history") or []
        return sum(h.get("type") in ("ReplySent", "NoteAdded") for h in history) >= 5
    await eventually(thread_done, timeout=60)


async def timed(call: Calls, http: httpx.AsyncClient, n: int, failed: list[str]) -> list[float]:
    """Seconds of each answered call; a refused or unanswered one (the console's 503 when the gateway is too slow)
    is kept in ``failed`` instead, so a slow run reports its figures and its failures rather than stopping."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            await call(http)
        except (AssertionError, httpx.HTTPError) as exc:  # refused, or no answer within the client's timeout
            failed.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        out.append(time.perf_counter() - t0)
    return out


def stats(seconds: list[float]) -> dict[str, float]:
    return {**summary_ms(seconds), "p95_ms": round(percentile([s * 1000 for s in seconds], 95), 2)}


async def weight(console: httpx.AsyncClient, html: str) -> dict[str, Any]:
    assets = {ref: len((await console.get(ref)).content) for ref in sorted(set(STATIC_REF.findall(html)))}
    size = len(html.encode()) + sum(assets.values())
    return {"html_bytes": len(html.encode()), "assets": assets, "total_bytes": size,
            "weight_under_goal": size < GOAL_BYTES}


async def measure(console_url: str, gateway_url: str, n: int, requests: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=console_url, timeout=120) as console:
        await dev_sign_in(console, f"agent:{AGENT}")
        session = Sessions(ConsoleSettings()).open(console.cookies[COOKIE].strip('"'))  # the token it calls with
        assert session is not None, "the console's session key is not the development one"
        auth = {"Authorization": f"Bearer {session.token}"}
        async with httpx.AsyncClient(base_url=gateway_url + "/api/v1", headers=auth, timeout=120) as gw:
            async def offered() -> bool:  # counted up to n: the default cap stops at 99
                return (await gw.get("/queues", params={"cap": n})).json().get("counts", {}).get("offers", 0) >= n
            await eventually(offered, timeout=max(120, n / 5), interval=1.0, message=f"{n} offers")
            first = (await gw.get("/queues/offers", params={"limit": 1})).json()["items"][0]["id"]
            await converse(gw, first)

            def page(path: str) -> Calls:
                async def get(http: httpx.AsyncClient) -> object:
                    resp = await http.get(path, headers=HTML)
                    assert resp.status_code == 200, (path, resp.status_code)
                    return resp
                return get

            def gateway(*calls: tuple[str, dict[str, str]], together: bool = False) -> Calls:
                async def run(http: httpx.AsyncClient) -> object:
                    resps = (await asyncio.gather(*(http.get(p, params=q) for p, q in calls)) if together
                             else [await http.get(p, params=q) for p, q in calls])
                    assert all(r.status_code == 200 for r in resps), [r.status_code for r in resps]
                    return resps
                return run

            queue = ("/queues/offers", {"limit": str(PAGE_SIZE), "view": "rows"})  # as the console asks
            ticket = (f"/tickets/{first}", {"history": "true"})
            pages = {  # console path → the gateway calls it makes (as its route makes them)
                "/queues/offers": gateway(queue),  # its nav loads /queues/counts after it (data-live-load)
                "/queues/offers/rows": gateway(queue),
                "/queues/counts": gateway(("/queues", {})),
                f"/tickets/{first}": gateway(ticket, (f"/tickets/{first}/client", {}), together=True),
            }
            out: dict[str, Any] = {}
            for path, calls in pages.items():
                failed: list[str] = []
                await timed(page(path), console, 10, [])  # warm-up: connections, template and plan caches
                await timed(calls, gw, 10, [])
                console_s = await timed(page(path), console, requests, failed)
                gateway_s = await timed(calls, gw, requests, failed)
                print(f"{path}: console p50 {stats(console_s)['p50_ms']} ms, {len(failed)} failed", flush=True)
                html = (await console.get(path, headers=HTML)).text
                c, g = stats(console_s), stats(gateway_s)
                name = "/tickets/{id}" if path.startswith("/tickets/") else path
                own = round(c["p50_ms"] - g["p50_ms"], 2)
                out[name] = {"console": c, "gateway_calls": g, "console_own_p50_ms": own, "failed": failed,
                             "rows": html.count("data-row"), **await weight(console, html),
                             "time_under_goal": c["p95_ms"] < GOAL_MS and not failed}
            return out


async def run(n: int, requests: int) -> dict[str, Any]:
    load_before = os.getloadavg()  # the machine is shared: the figures mean little without it
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        env = {**base, **isolated_env(), "ROUTING_CLAIM_TIMEOUT_SECONDS": "3600", "FRONTLINE_LOG_LEVEL": "WARNING",
               "CONSOLE_DEV_SIGN_IN": "true"}
        settings = make_settings(CommonSettings, env)
        await ensure_topics(settings)
        await seed(settings)
        procs = [ServiceProcess(name, env, Path(logs)).start() for name in ("tickets", "routing", "gateway")]
        try:
            for p in procs:
                await asyncio.to_thread(p.wait_ready, 300)
            console = ServiceProcess("console", {**env, "CONSOLE_GATEWAY_URL": procs[2].url}, Path(logs)).start()
            procs.append(console)
            await asyncio.to_thread(console.wait_ready, 300)
            t0 = time.perf_counter()
            await open_tickets(settings, n + 1)  # one of them leaves the offers for its conversation
            pages = await measure(console.url, procs[2].url, n, requests)
            load_s = time.perf_counter() - t0
        finally:
            for p in procs:
                p.stop()
    return {"tickets_offered": n, "requests_per_page": requests, "queue_page_size": PAGE_SIZE,
            "goal": {"server_p95_ms": GOAL_MS, "page_bytes": GOAL_BYTES}, "load_and_measure_seconds": round(load_s, 1),
            "transport": "httpx (bench process) → console process → gateway process, loopback", "pages": pages,
            "load_average": {"before": load_before, "after": os.getloadavg()}}


def table(pages: dict[str, Any]) -> str:
    lines = [f"{'page':<22}{'p50':>8}{'p95':>8}{'p99':>8}{'gw p50':>9}{'gw p95':>9}{'own p50':>9}{'rows':>6}"
             f"{'bytes':>9}"]
    for name, r in pages.items():
        c, g = r["console"], r["gateway_calls"]
        lines.append(f"{name:<22}{c['p50_ms']:>8}{c['p95_ms']:>8}{c['p99_ms']:>8}{g['p50_ms']:>9}{g['p95_ms']:>9}"
                     f"{r['console_own_p50_ms']:>9}{r['rows']:>6}{r['total_bytes']:>9}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per page")
    args = parser.parse_args()
    result = asyncio.run(run(args.tickets, args.requests))
    write_result("console", result)
    merge_latest("console", result)
    print(table(result["pages"]))
    print(f"load average (1, 5, 15 min): before {result['load_average']['before']}, after "
          f"{result['load_average']['after']}")
    failed = [name for name, r in result["pages"].items() if not (r["time_under_goal"] and r["weight_under_goal"])]
    if failed:
        raise SystemExit(f"over the goal: {failed}")


if __name__ == "__main__":
    main()
