"""A SIGKILLed SLA worker (faust, a real process) comes back, handles an event published after its restart, and
keeps exactly its clocks: none lost, none doubled, including tickets whose events were in flight at the kill."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bench.sla_recovery_state import clock_problems, open_tickets
from services.sla.settings import SlaSettings
from shared.contracts.collections import SLA_CLOCKS
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import eventually, make_settings
from tools.processes import ServiceProcess

TICKETS = 12


async def test_a_killed_sla_worker_restarts_handles_new_events_and_keeps_exactly_its_clocks(
        env: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(SlaSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    worker = ServiceProcess("sla", {**env, "FRONTLINE_LOG_LEVEL": "INFO"}, tmp_path / "logs")
    opened: list[str] = []

    async def exact() -> bool:
        return not await clock_problems(db, opened)

    try:
        await asyncio.to_thread(worker.start().wait_ready, 120)
        before = [f"T-before-{i}" for i in range(TICKETS)]
        opened += before
        await open_tickets(settings, before)
        await eventually(exact, timeout=60, message="the first tickets' clocks")

        # killed while a batch is in flight: what it had not committed comes again, and is applied once
        inflight = [f"T-inflight-{i}" for i in range(TICKETS)]
        opened += inflight
        await open_tickets(settings, inflight)
        worker.kill(signal.SIGKILL)
        await asyncio.to_thread(worker.start().wait_ready, 120)

        probe = "T-after-restart"
        opened.append(probe)
        await open_tickets(settings, [probe])
        await eventually(lambda: db[SLA_CLOCKS].find_one({"_id": probe}), timeout=90,
                         message="the event published after the restart made its clock")
        await eventually(exact, timeout=60, message="every clock exactly once")
        assert await clock_problems(db, opened) == []
        assert await db[SLA_CLOCKS].count_documents({}) == len(opened) == 2 * TICKETS + 1
    finally:
        worker.kill(signal.SIGKILL)
        await client.close()
