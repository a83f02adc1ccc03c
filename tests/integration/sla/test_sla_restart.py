"""SIGKILL the SLA worker (a real process) mid-run and restart it: every due step fires exactly once."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

from sla_support import command, distinct, kinds, open_ticket, seed_people, seed_sla

from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import SLA_EVENTS, TICKETS_EVENTS
from shared.directory.sla import EscalationLadder, LadderStep, SlaPolicy, Targets
from shared.runtime.clock import SystemClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, eventually, make_settings, running
from tools.processes import ServiceProcess

TICKETS = 8
# Short targets on the 24x7 calendar: a ManualClock cannot cross process boundaries.
POLICY = SlaPolicy(id="default", warning_share=0.5,
                   targets=Targets(first_response_seconds=2.0, resolution_seconds=3.0))
LADDER = EscalationLadder(id="default", steps=[
    LadderStep(step=1, start="assigned", after_seconds=1.5, condition="not_in_progress", action="add_participant",
               roles=["head_of_service"], set_flag="long_ignored", reason="not in progress"),
    LadderStep(step=2, start="breached", after_seconds=0, condition="unresolved", roles=["group_lead"]),
    LadderStep(step=3, start="breached", after_seconds=3, condition="unresolved", roles=["head_of_division"]),
    LadderStep(step=4, start="breached", after_seconds=6, condition="unresolved", roles=["technical_director"]),
])
EXPECTED = {"SlaWarning:first_response": 1, "SlaWarning:resolution": 1, "SlaBreached:first_response": 1,
            "SlaBreached:resolution": 1, "step:1": 1, "step:2": 1, "step:3": 1, "step:4": 1}
LEDGER_EXPECTED = {"participant:boss:head_of_service": 1, "flag:long_ignored": 1, "flag:sla_breached": 1}


async def test_sigkill_mid_run_then_restart_fires_every_due_step_exactly_once(env: dict[str, str],
                                                                             tmp_path: Path) -> None:
    settings = make_settings(SlaSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_people(db)
    await seed_sla(db, POLICY, ladder=LADDER)
    proc_env = {**env, "SLA_DIRECTORY_CACHE_SECONDS": "0.5", "FRONTLINE_LOG_LEVEL": "INFO"}
    worker = ServiceProcess("sla", proc_env, tmp_path / "logs")
    bus = KafkaBus(settings, "test")
    ids = [f"T-k{i}" for i in range(TICKETS)]
    ledger = tickets_app(make_settings(TicketsSettings, env), SystemClock())
    try:
        async with running(ledger), Tap(settings, SLA_EVENTS) as sla_tap, Tap(settings, TICKETS_EVENTS) as ledger_tap:
            await asyncio.to_thread(worker.start().wait_ready)
            await bus.start()
            clock = SystemClock()
            for tid in ids:
                await command(bus, tid, open_ticket(), clock.now())
                await command(bus, tid, t.AssignTicket(agent_id="a1", mode="auto"), clock.now())
            # Kill once some breaches fired but the later ladder steps (3-9 s after opening) are still pending.
            await eventually(lambda: len(sla_tap.of(type="SlaBreached")) >= 2, timeout=20, message="first breaches")
            fired_before = len(distinct(sla_tap.of()))
            worker.kill(signal.SIGKILL)
            await asyncio.to_thread(worker.start().wait_ready)

            def complete() -> bool:
                return all(kinds(sla_tap.of(tid)) == EXPECTED for tid in ids)

            await eventually(complete, timeout=40, message="every step on every ticket")
            await eventually(lambda: all({k: kinds(ledger_tap.of(tid))[k] for k in LEDGER_EXPECTED}
                                         == LEDGER_EXPECTED for tid in ids), timeout=20, message="ledger effects")
            await asyncio.sleep(1.5)  # a late duplicate would show up now
            for tid in ids:
                assert kinds(sla_tap.of(tid)) == EXPECTED, tid
                got = kinds(ledger_tap.of(tid))
                assert {k: got[k] for k in LEDGER_EXPECTED} == LEDGER_EXPECTED, tid
                # each step at its own anchor's due time, however the crash reordered the publishing (a
                # TicketAssigned the killed worker had not applied yet is replayed after the breach chain fired)
                assigned = distinct(ledger_tap.of(tid, "TicketAssigned"))[0].occurred_at
                breached = min(e.occurred_at for e in distinct(sla_tap.of(tid, "SlaBreached")))
                at = {e.payload["step"]: e.occurred_at for e in distinct(sla_tap.of(tid, "EscalationStepFired"))}
                due = {1: assigned + timedelta(seconds=1.5), 2: breached,
                       3: breached + timedelta(seconds=3), 4: breached + timedelta(seconds=6)}
                assert at.keys() == due.keys(), (tid, at)
                # MongoDB keeps milliseconds: the SLA's stored anchor is the event time truncated to them
                assert all(abs(at[k] - due[k]) < timedelta(milliseconds=1) for k in due), (tid, at, due)
            total = len(distinct(sla_tap.of()))
            assert 0 < fired_before < total == TICKETS * sum(EXPECTED.values())
            timers = db["sla_timers"]
            assert await timers.count_documents({"fired": False}) == 0
            await bus.stop()
    finally:
        worker.kill(signal.SIGKILL)
        await client.close()
