"""Issue 17: `frontline demo` on an empty desk fills every work queue and ticket state; run again, it adds nothing.

The whole desk runs as processes (tools.stack via e2e_support.desk) on real time; the demo talks only to the
gateway, intake's doors and notify's deliveries, as `frontline demo` does against `make up`. Offers stay offers
here (a claim timeout of an hour) so the offers queue can be checked after the pilot's SLA has breached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e2e_support import Desk, desk

from tools.demo.api import Urls
from tools.demo.desk import AGENTS
from tools.demo.run import PER_AGENT, QUEUES, run
from tools.demo.tickets import JOURNEYS


async def listed(d: Desk, queue: str) -> set[str]:
    """The queue's ticket ids through the gateway: the personal queues asked for every demo agent."""
    agents = [a["id"] for a in AGENTS] if queue in PER_AGENT else [None]
    ids: set[str] = set()
    for agent in agents:
        params = {"limit": "200", **({"agent_id": agent} if agent else {})}
        resp = await d.http.get(d.gw(f"/queues/{queue}"), params=params, headers=d.admin)
        assert resp.status_code == 200, resp.text
        ids |= {t["id"] for t in resp.json()["items"]}
    return ids


async def directory_counts(d: Desk, names: list[str]) -> dict[str, int]:
    return {name: len(await d.entries(name)) for name in names}


def states(tickets: list[dict[str, Any]]) -> set[str]:
    out = {t["status"] for t in tickets}
    out |= {"escalated" for t in tickets if t.get("handovers")}
    out |= {"breached" for t in tickets if t["flags"].get("sla_breached")}
    out |= {"rated" for t in tickets if t.get("rating")}
    return out


async def test_demo_fills_every_queue_and_state_and_runs_again_without_duplicates(
        env: dict[str, str], tmp_path: Path) -> None:
    async with desk(env, tmp_path, datetime.now(UTC), {"ROUTING_CLAIM_TIMEOUT_SECONDS": "3600"}) as d:
        urls = Urls(d.stack.url("gateway"), d.stack.url("intake"), d.stack.url("notify"))
        first = await run(urls)

        for queue in QUEUES:
            assert await listed(d, queue), f"the {queue} queue is empty after the demo"
        tickets = await d.tickets()
        assert {"offered", "assigned", "in_progress", "waiting_customer", "escalated", "breached", "resolved",
                "completed", "rated"} <= states(tickets)
        assert len(tickets) == len(JOURNEYS) + 1  # one development sub-ticket
        assert {created for created, _ in first["directories"].values()} != {0}
        names = list(first["directories"])
        entries = await directory_counts(d, names)
        assert entries == {name: total for name, (_, total) in first["directories"].items()}

        second = await run(urls)
        assert all(created == 0 for created, _ in second["directories"].values()), second["directories"]
        assert await directory_counts(d, names) == entries
        assert second["tickets"] == first["tickets"]
        again = await d.tickets()
        assert sorted(t["id"] for t in again) == sorted(t["id"] for t in tickets), "the second run opened tickets"
        conversations = [c for t in again for c in t["conversation_ids"]]
        assert len(conversations) == len(set(conversations)), "a conversation is in two tickets"
        assert sum(t["message_count"] for t in again) == sum(t["message_count"] for t in tickets)
