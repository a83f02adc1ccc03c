"""kill -9 each service in turn in the middle of a run, restart it: afterwards every ticket exists once, every
command had exactly one effect, every due SLA step fired exactly once and every notification was sent once.

The run is the whole desk (tests/faults/desk.py): seven real processes on the real broker and database, a real
SMTP server, clients over HTTP. Each victim is killed while tickets are in flight (counted), stays down for a
second (its work queues up, its HTTP callers retry) and comes back on the same port.
`make test` runs a few hundred tickets (FRONTLINE_FAULT_TICKETS); `make test-all` (slow marker) runs 5,000.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tools.stack import ALL

from .checks import verify
from .desk import Plan, running_desk

# Every service is killed once with tickets in flight, except those that keep no state of their own (the console
# only relays the gateway): a service added later is a victim without anyone remembering to list it.
BYSTANDERS = ("console",)
VICTIMS = tuple(name for name in ALL if name not in BYSTANDERS)


async def run(env: dict[str, str], tmp_path: Path, n: int, victims: tuple[str, ...] = VICTIMS,
              down: float = 1.0) -> None:
    plan = Plan.of(range(n))
    t0 = time.monotonic()
    async with running_desk(env, tmp_path / "logs", plan) as desk:
        seconds = {"started": round(time.monotonic() - t0, 1)}
        progress = asyncio.create_task(desk.progress()) if os.environ.get("FRONTLINE_FAULT_PROGRESS") else None
        # each victim's share of the messages is being written as it dies, so it dies with tickets in flight however
        # long the restarts before it took (a single paced writer ran dry before the last victims on a loaded machine)
        in_flight: dict[str, int] = {}
        for k, victim in enumerate(victims):
            share = Plan.of(plan.indices[k::len(victims)])
            writer = asyncio.create_task(desk.write(share, rate=max(share.n / 2.5, 5)))
            await asyncio.sleep(1.5)
            desk.check(writer)
            in_flight[victim] = desk.tickets.unfinished()
            await asyncio.to_thread(desk.stack.kill, victim)  # SIGKILL: no shutdown, no commit, no lease release
            await asyncio.sleep(down)
            await asyncio.to_thread(desk.stack.start_service, victim)
            seconds[victim] = round(time.monotonic() - t0, 1)
            await writer
        await desk.write(Plan.of(range(0, n, 7)), rate=50)  # retried webhooks: the same messages again
        await desk.settle(plan, timeout=120 + 2 * n)  # 1.5-3 tickets/s on the embedded database, 2 cores
        seconds["settled"] = round(time.monotonic() - t0, 1)
        if progress is not None:
            progress.cancel()
        await asyncio.sleep(2)  # anything still in flight would now show up as a duplicate
        await verify(desk.db, desk.smtp, desk.sla, plan)
        assert all(in_flight[v] > 0 for v in victims), f"every victim died with work in flight: {in_flight}"
        assert not desk.clients.server_errors(), desk.clients.statuses
        print(f"\n{n} tickets; in flight at each kill {in_flight}; client calls {dict(desk.clients.statuses)}; "
              f"seconds {seconds}")


async def test_kill_each_service_mid_run(env: dict[str, str], tmp_path: Path) -> None:
    await run(env, tmp_path, int(os.environ.get("FRONTLINE_FAULT_TICKETS", "240")))


@pytest.mark.slow
async def test_kill_each_service_in_a_5000_ticket_run(env: dict[str, str], tmp_path: Path) -> None:
    await run(env, tmp_path, 5000)
