"""What an SLA worker's recovery is judged by: tickets fed to it, its clocks exact, and where its start-up went.

Shared by ``bench.faust_recovery`` and ``tests/integration/sla/test_sla_worker_restart.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import SLA_CLOCKS, SLA_TIMERS
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import SystemClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.settings import CommonSettings

# the worker's log lines that close each start-up phase, in order (uvicorn's, faust's and services/sla/stream.py's)
PHASES = {"imports_s": "Started server process", "prepare_s": "[^App]: Starting...",
          "join_s": "sla partitions assigned", "serving_s": "Application startup complete."}


def ticket_events(ticket_id: str) -> list[Envelope]:
    """What the ledger publishes for a ticket opened and assigned: both move its SLA clock. Ids are fixed, so a
    redelivery is the same event."""
    now = SystemClock().now()
    opened = t.TicketOpened(number=1, channel=Channel.email, subject="recovery", text="help", group_id="g1")
    return [envelope_for(opened, ticket_id, occurred_at=now, actor="bench", id=f"{ticket_id}-opened"),
            envelope_for(t.TicketAssigned(agent_id="a1", mode="auto"), ticket_id, occurred_at=now, actor="bench",
                         id=f"{ticket_id}-assigned")]


async def open_tickets(settings: CommonSettings, ticket_ids: list[str]) -> None:
    bus = KafkaBus(settings, "bench")
    await bus.start()
    try:
        await bus.publish_many(TICKETS_EVENTS, [e for tid in ticket_ids for e in ticket_events(tid)])
    finally:
        await bus.stop()


async def clock_problems(db: AsyncDatabase, opened: list[str]) -> list[str]:
    """What is not exact: a ticket opened without its clock, a clock of no ticket opened, a clock whose applied
    events are not exactly its own two (once each), a pending timer of a ticket without a clock."""
    applied = {d["_id"]: d.get("applied", []) async for d in db[SLA_CLOCKS].find({}, {"applied": 1})}
    problems = [f"lost {tid}" for tid in opened if tid not in applied]
    problems += [f"unexpected clock {tid}" for tid in applied if tid not in opened]
    for tid, ids in applied.items():
        if sorted(ids) != sorted(e.id for e in ticket_events(tid)):
            problems.append(f"{tid} applied {ids}")
    timer_tickets = set(await db[SLA_TIMERS].distinct("ticket_id", {"fired": False}))
    problems += [f"timers of {tid} without its clock" for tid in sorted(timer_tickets - set(applied))]
    return problems


async def settled(db: AsyncDatabase, opened: list[str], timeout: float = 30.0) -> list[str]:
    """``clock_problems`` once the worker has caught up (empty), or what is still wrong after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (problems := await clock_problems(db, opened)) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    return problems


def start_phases(log: Path, spawned: datetime) -> dict[str, float | None]:
    """Seconds from ``spawned`` to the end of each of :data:`PHASES`, read from the worker's JSON log."""
    found: dict[str, float | None] = dict.fromkeys(PHASES)
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["ts"])
        except (ValueError, KeyError, TypeError):
            continue
        if at < spawned:
            continue
        for phase, marker in PHASES.items():
            if found[phase] is None and str(entry.get("msg", "")).startswith(marker):
                found[phase] = round((at - spawned).total_seconds(), 2)
    return found
