"""``frontline demo``: load the demo desk into a running Frontline through its public APIs, idempotently.

Directories first (created when missing, never overwritten), then the clients' messages through intake's doors,
then each ticket's journey (tools/demo/journeys.py). Prints the people it set up, how to get their tokens,
and what each work queue holds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx

from shared.runtime.clock import SystemClock
from shared.runtime.settings import CommonSettings
from tools.demo.api import ADMIN, DemoApi, DemoError, Urls, token_args, until
from tools.demo.desk import AGENTS, directories
from tools.demo.journeys import ROUTED_TIMEOUT, drive_all
from tools.demo.tickets import JOURNEYS, Journey

QUEUES = ("offers", "mine", "needs_reply", "time_limit", "overdue", "long_ignored", "lost", "unidentified",
          "development")
PER_AGENT = ("offers", "mine")


def key_of(directory: str, doc: dict[str, Any]) -> str:
    return str(doc["number"] if directory == "contracts" else doc["id"])


async def load_directories(api: DemoApi) -> dict[str, tuple[int, int]]:
    """Directory → (entries created now, entries in the demo desk)."""
    out: dict[str, tuple[int, int]] = {}
    for name, items in directories().items():
        created = [await api.put_entry(name, key_of(name, doc), doc) for doc in items]
        out[name] = (sum(created), len(items))
    return out


async def open_tickets(api: DemoApi) -> dict[Journey, str]:
    """Send each journey's first message (intake drops repeats by external id) and find the ticket it opened."""
    now = SystemClock().now()
    for j in JOURNEYS:
        await api.send(*j.message(1, now))

    async def probe() -> dict[Journey, str] | None:
        by_conversation = {c: t["id"] for t in await api.tickets() for c in t.get("conversation_ids") or []}
        found = {j: by_conversation[j.conversation] for j in JOURNEYS if j.conversation in by_conversation}
        return found if len(found) == len(JOURNEYS) else None
    return await until(probe, "every demo message to open its ticket", ROUTED_TIMEOUT, interval=1.0)


async def queue_counts(api: DemoApi) -> dict[str, int]:
    """What each work queue holds: the personal ones summed over the demo's agents."""
    counts: dict[str, int] = {}
    for q in QUEUES:
        agents = [a["id"] for a in AGENTS] if q in PER_AGENT else [None]
        counts[q] = sum([await api.queue(q, agent) for agent in agents])
    return counts


async def run(urls: Urls) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        api = DemoApi(http, urls)
        loaded = await load_directories(api)
        tickets = await open_tickets(api)
        await drive_all(api, tickets)
        return {"directories": loaded, "tickets": tickets, "queues": await queue_counts(api)}


def report(result: dict[str, Any]) -> str:
    lines = ["Demo desk loaded.", "", "Directories (created now / in the demo):"]
    lines += [f"  {name}: {created}/{total}" for name, (created, total) in result["directories"].items()]
    lines += ["", f"Tickets: {len(result['tickets'])}. Work queues (offers and mine summed over the agents):"]
    lines += [f"  {q}: {n}" for q, n in result["queues"].items()]
    lines += ["", "People (a token: the command beside each; use it as `Authorization: Bearer <token>`):",
              f"  {ADMIN:10} administrator  .venv/bin/frontline token --user {ADMIN} --role administrator"]
    for a in AGENTS:
        args = token_args(a)
        flags = " ".join(f"--{k} {' '.join(v)}" for k, v in args.items() if k != "role" and v)
        lines.append(f"  {a['id']:10} {args['role']:13}  .venv/bin/frontline token --user {a['id']} "
                     f"--role {args['role']} {flags}".rstrip())
    lines += ["", "Offers nobody claims are auto-assigned after ROUTING_CLAIM_TIMEOUT_SECONDS (40 s); the pilot "
              "client's tickets breach their 1-minute SLA. Run `frontline demo` again at any time: it only adds "
              "what is missing."]
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="frontline demo", description="Load the demo desk into a running Frontline")
    defaults = Urls()
    parser.add_argument("--gateway", default=defaults.gateway, help=f"gateway URL (default {defaults.gateway})")
    parser.add_argument("--intake", default=defaults.intake, help=f"intake URL (default {defaults.intake})")
    parser.add_argument("--notify", default=defaults.notify, help=f"notify URL, for survey links ({defaults.notify})")
    args = parser.parse_args(argv)
    if CommonSettings().production:
        print("frontline demo: refused: FRONTLINE_ENVIRONMENT=production (demo people and tickets would go into a "
              "real desk)", file=sys.stderr)
        return 2
    print(f"frontline demo: loading the demo desk through {args.gateway}", flush=True)
    try:
        result = asyncio.run(run(Urls(args.gateway.rstrip("/"), args.intake.rstrip("/"), args.notify.rstrip("/"))))
    except (DemoError, httpx.HTTPError) as exc:
        print(f"frontline demo: {exc}", file=sys.stderr)
        return 1
    print(report(result))
    return 0
