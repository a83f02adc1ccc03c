"""Two SLA workers in one consumer group; one is SIGKILLed, restarted, then the other stopped.

Both are real processes (``python -m services.sla``) on one shared file clock, which the test holds
still and moves in 5-minute jumps, so timers of 48 tickets fall due all through the run: while both
workers share the partitions, while the killed one's partitions wait for the group to notice and then
land on the survivor as a backlog, while the restarted one takes half of them back, and while the
second one leaves and hands everything over. Every due warning, breach and ladder step must fire
exactly once: per ticket the distinct ids equal the hand-computed due steps, and the records actually
published are counted too, so a second publish of the same id is caught, not hidden by deduplication.
The only repeat allowed is the one the design accepts after a SIGKILL (see ``_repeats``).

The ledger runs in the test process on the same clock. Before time moves on, the test waits until the
SLA has applied the minute's ledger events (work started, resolved): the due steps are computed from the
tickets' timelines; a resolve still unread by the SLA when a later step falls due is another matter
(timers do not wait for a lagging consumer), not what this test is about.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sla_support import command, kinds, open_ticket, seed_people, seed_sla

from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import SLA_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory.sla import EscalationLadder, LadderStep, SlaPolicy, Targets
from shared.runtime.clock import FileClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timers import partition_for
from tests.support.testing import Tap, eventually, make_settings, running
from tools.processes import ServiceProcess

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = 60.0
PARTITIONS = TICKETS_EVENTS.partitions
POLICY = SlaPolicy(id="default", warning_share=0.5,
                   targets=Targets(first_response_seconds=60 * MIN, resolution_seconds=180 * MIN))
LADDER = EscalationLadder(id="default", steps=[
    LadderStep(step=1, start="assigned", after_seconds=15 * MIN, condition="not_in_progress", action="add_participant",
               roles=["head_of_service"], set_flag="long_ignored", reason="not in progress"),
    LadderStep(step=2, start="breached", after_seconds=0, condition="unresolved", roles=["group_lead"]),
    LadderStep(step=3, start="breached", after_seconds=30 * MIN, condition="unresolved", roles=["head_of_division"]),
    LadderStep(step=4, start="breached", after_seconds=60 * MIN, condition="unresolved", roles=["technical_director"]),
])

# Groups of tickets opened and assigned at these minutes; in each, PER_KIND tickets of each kind.
GROUPS = (0, 20, 40, 60)
PER_KIND = 4
START_AFTER, RESOLVE_AFTER = 10, 100  # "started": work starts at o+10; "resolved": resolved at o+100
# Hand-computed from POLICY and LADDER, for a ticket opened and assigned at minute o:
#   o+15 step 1 (still not in progress) | o+30 first_response warning (50 % of 60 min) |
#   o+60 first_response breach, then step 2 (breach + 0) | o+90 resolution warning (50 % of 180 min), step 3 |
#   o+120 step 4 | o+180 resolution breach.
ALL = {"step:1": 1, "SlaWarning:first_response": 1, "SlaBreached:first_response": 1, "step:2": 1,
       "SlaWarning:resolution": 1, "step:3": 1, "step:4": 1, "SlaBreached:resolution": 1}
EXPECTED = {
    "plain": ALL,
    "started": {k: v for k, v in ALL.items() if k != "step:1"},  # in progress at o+10: step 1 no longer holds
    "resolved": {k: v for k, v in ALL.items() if k not in ("step:4", "SlaBreached:resolution")},  # o+90 < o+100 < o+120
}
LEDGER_EXPECTED = {
    "plain": {"participant:boss:head_of_service": 1, "flag:long_ignored": 1, "flag:sla_breached": 1},
    "started": {"participant:boss:head_of_service": 0, "flag:long_ignored": 0, "flag:sla_breached": 1},
    "resolved": {"participant:boss:head_of_service": 1, "flag:long_ignored": 1, "flag:sla_breached": 1},
}
END = max(GROUPS) + 180  # the last due time (minutes)
# Minutes of the shared clock: a is SIGKILLed, a is started again, b is stopped (SIGTERM; not before a
# has fired something since its restart, so every phase is shown to have happened).
KILL_A, RESTART_A, STOP_B = 75, 125, 180
PACE = 0.15  # real seconds between clock jumps


def label(env: Envelope) -> str:
    p = env.payload
    return f"step:{p['step']}" if env.type == "EscalationStepFired" else f"{env.type}:{p['target']}"


class Worker:
    """One SLA process and what its own log says: the partitions it was given and the timers it fired."""

    def __init__(self, name: str, env: dict[str, str], tmp: Path) -> None:
        self.name, self.log_dir = name, tmp / name
        self.proc = ServiceProcess("sla", env, self.log_dir)

    def lines(self) -> list[dict[str, Any]]:
        path = self.log_dir / "sla.log"
        if not path.exists():
            return []
        out = []
        for raw in path.read_text().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def assignment(self) -> set[int] | None:
        """The current run's latest assignment of tickets.events partitions (None: none yet)."""
        got: list[list[int]] | None = None
        for line in self.lines():
            if str(line.get("msg", "")).startswith("Started server process"):
                got = []
            elif line.get("msg") == "sla partitions assigned" and got is not None:
                got.append(line["partitions"])
        return set(got[-1]) if got else None

    def fired(self, since: float = 0.0, until: float = float("inf")) -> set[str]:
        """Ids of the timers it fired (logged) between two wall-clock times."""
        return {line["timer"] for line in self.lines() if line.get("msg") == "sla timer fired"
                and since <= datetime.fromisoformat(line["ts"]).timestamp() < until}


async def test_two_workers_kill_rejoin_and_leave_fire_every_due_step_exactly_once(env: dict[str, str],
                                                                                  tmp_path: Path) -> None:
    clock_file = tmp_path / "clock.json"
    FileClock.write(clock_file, T0, speed=0)  # held still: only the test's jumps move time
    clock = FileClock(clock_file)
    settings = make_settings(SlaSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_people(db)
    await seed_sla(db, POLICY, ladder=LADDER)
    # Batches of 16 due timers: a takeover's backlog then spans several batches, as a real one (thousands of
    # timers, default batch 500) would, so the new owner replays events while overdue timers still wait.
    proc_env = {**env, "FRONTLINE_CLOCK_FILE": str(clock_file), "SLA_DIRECTORY_CACHE_SECONDS": "60",
                "FRONTLINE_LOG_LEVEL": "INFO", "SLA_TIMER_BATCH": "16"}
    a, b = Worker("a", proc_env, tmp_path), Worker("b", proc_env, tmp_path)

    tickets = {f"T-r{o}{kind[0]}{i}": (o, kind) for o in GROUPS for kind in EXPECTED for i in range(PER_KIND)}
    plan: dict[int, list[tuple[str, str]]] = defaultdict(list)  # minute -> (ticket, action)
    for tid, (o, kind) in tickets.items():
        plan[o].append((tid, "open"))
        if kind == "started":
            plan[o + START_AFTER].append((tid, "start"))
        if kind == "resolved":
            plan[o + RESOLVE_AFTER].append((tid, "resolve"))
    clocks = db["sla_clocks"]
    bus = KafkaBus(settings, "test")
    ledger = tickets_app(make_settings(TicketsSettings, env), clock)
    walls: dict[str, float] = {}  # wall-clock times of the kill, the restart and the stop
    held: dict[str, set[int]] = {}  # partitions the killed / stopped worker held then
    try:
        async with running(ledger), Tap(settings, SLA_EVENTS, raw=True) as sla_tap, \
                Tap(settings, TICKETS_COMMANDS, raw=True) as cmd_tap, Tap(settings, TICKETS_EVENTS) as ledger_tap:
            await bus.start()
            a.proc.start()
            b.proc.start()
            await asyncio.gather(asyncio.to_thread(a.proc.wait_ready), asyncio.to_thread(b.proc.wait_ready))
            await eventually(lambda: _split(a, b), timeout=20, message="both workers own partitions")

            async def act(minute: int) -> None:
                """The minute's ledger commands, applied by the ledger and the SLA before time moves on."""
                actions = plan.get(minute, [])
                for tid, action in actions:
                    if action == "open":
                        await command(bus, tid, open_ticket(), clock.now())
                        await command(bus, tid, t.AssignTicket(agent_id="a1", mode="auto"), clock.now())
                    elif action == "start":
                        await command(bus, tid, t.StartWork(agent_id="a1"), clock.now())
                    else:
                        await command(bus, tid, t.ResolveTicket(agent_id="a1", problem="p", solution="s"),
                                      clock.now())
                status = {"open": "assigned", "start": "in_progress", "resolve": "resolved"}
                for tid, action in actions:
                    await eventually(lambda tid=tid, action=action: clocks.find_one(
                        {"_id": tid, "status": status[action]}), timeout=30, message=f"{action} {tid} in sla")

            stop_b: asyncio.Future[None] | None = None
            for minute in range(0, END + 5, 5):
                if minute >= STOP_B and stop_b is None and a.fired(since=walls["restart"]):
                    # b leaves (SIGTERM: a graceful stop) once the restarted a has shown it fires its share,
                    # just after a jump made timers due: likely while b is firing a batch.
                    FileClock.write(clock_file, T0 + timedelta(minutes=minute), speed=0)
                    await asyncio.sleep(0.03)
                    walls["stop"], held["b"] = time.time(), b.assignment() or set()
                    stop_b = asyncio.ensure_future(asyncio.to_thread(b.proc.stop))
                FileClock.write(clock_file, T0 + timedelta(minutes=minute), speed=0)
                if minute == KILL_A:
                    await asyncio.sleep(0.03)  # likely inside a firing batch
                    walls["kill"], held["a"] = time.time(), a.assignment() or set()
                    a.proc.kill(signal.SIGKILL)
                elif minute == KILL_A + 40:  # the group noticed: the survivor has every partition
                    await eventually(lambda: b.assignment() == set(range(PARTITIONS)), timeout=30,
                                     message="b owns every partition after a's death")
                elif minute == RESTART_A:
                    walls["restart"] = time.time()
                    a.proc.start()
                elif minute == STOP_B - 20:  # rebalanced back: both own a share
                    await eventually(lambda: _split(a, b), timeout=30, message="partitions shared again")
                await act(minute)
                await asyncio.sleep(PACE)
            assert stop_b is not None, "the restarted worker never fired: b was not stopped"
            await stop_b
            await eventually(lambda: a.assignment() == set(range(PARTITIONS)), timeout=30,
                             message="a owns every partition after b left")
            FileClock.write(clock_file, T0 + timedelta(days=1), speed=0)  # anything still due fires now

            def distinct_of(tid: str) -> Counter[str]:
                return kinds([Envelope.from_bytes(r.value) for r in sla_tap.items
                              if Envelope.from_bytes(r.value).ticket_id == tid])

            def wrong() -> dict[str, dict[str, int]]:
                """Per ticket whose distinct steps differ from the due ones: got minus expected."""
                out = {}
                for tid, (_, kind) in tickets.items():
                    diff = Counter(distinct_of(tid))
                    diff.subtract(EXPECTED[kind])
                    if any(diff.values()):
                        out[tid] = {k: n for k, n in diff.items() if n}
                return out

            try:
                await eventually(lambda: not wrong(), timeout=30, message="every due step of every ticket")
            except AssertionError as exc:
                timers = await db["sla_timers"].find({"ticket_id": {"$in": list(wrong())}}).to_list(None)
                raise AssertionError(f"{exc}: {wrong()}; their timers {timers}") from None
            await asyncio.sleep(1.5)  # a late duplicate or a stray step would show up now

            records = [(r.timestamp / 1000, Envelope.from_bytes(r.value)) for r in sla_tap.items]
            # Nothing skipped, nothing extra: distinct ids per ticket are exactly the hand-computed due steps.
            for tid, (_, kind) in tickets.items():
                assert distinct_of(tid) == EXPECTED[kind], (tid, kind, distinct_of(tid))
                got = kinds(ledger_tap.of(tid))
                assert {k: got[k] for k in LEDGER_EXPECTED[kind]} == LEDGER_EXPECTED[kind], (tid, kind, got)
            assert len({e.id for _, e in records}) == sum(sum(EXPECTED[k].values()) for _, k in tickets.values())
            # Nothing fired twice: count the records actually published, per (ticket, step) and per id.
            per_step = Counter((e.ticket_id, label(e)) for _, e in records)
            twice = {key: n for key, n in per_step.items() if n != 1}
            sla_commands = [(r.timestamp / 1000, e) for r in cmd_tap.items
                            if (e := Envelope.from_bytes(r.value)).actor == "sla"]
            repeated = _repeats(records + sla_commands, walls["kill"])
            assert not twice or set(twice) <= {(e.ticket_id, label(e)) for _, e in records if e.id in repeated}, twice
            assert all(n == 2 for n in twice.values()), twice
            assert await db["sla_timers"].count_documents({"fired": False}) == 0

            # The run did what it claims: both workers fired, and the partitions of the one that went away
            # were fired by the other afterwards (timer id -> ticket -> partition, from each worker's log).
            part = {e.correlation_id: partition_for(e.ticket_id, PARTITIONS) for _, e in records}

            def parts(worker: Worker, since: float = 0.0, until: float = float("inf")) -> set[int]:
                return {part[x] for x in worker.fired(since, until) if x in part}

            assert parts(a, until=walls["kill"]) and parts(b, until=walls["kill"])
            assert parts(b, walls["kill"], walls["restart"]) & held["a"], (held, parts(b, walls["kill"]))
            assert parts(a, walls["restart"], walls["stop"])
            assert parts(a, walls["stop"]) & held["b"], (held, parts(a, walls["stop"]))
            await bus.stop()
    finally:
        a.proc.kill(signal.SIGKILL)
        b.proc.kill(signal.SIGKILL)
        await client.close()


def _split(a: Worker, b: Worker) -> bool:
    """Both workers hold a share of the partitions and together all of them, once each."""
    pa, pb = a.assignment(), b.assignment()
    return bool(pa and pb and not pa & pb and pa | pb == set(range(PARTITIONS)))


def _repeats(records: list[tuple[float, Envelope]], kill: float) -> set[str]:
    """Ids published more than once (sla.events and the SLA's ledger commands), checked against the design.

    The one re-publish the design allows: a worker killed (SIGKILL) after publishing a batch's envelopes but
    before clearing its outbox leaves them saved; whoever next owns the partition publishes them again,
    with the same ids and content (the ledger and notify dedupe by id). So a repeated id must have exactly
    two identical copies, the first published before the kill and the second after it. A repeat around the
    graceful rebalances (a's return, b's SIGTERM) would be a real double fire.
    """
    by_id: dict[str, list[tuple[float, Envelope]]] = defaultdict(list)
    for at, e in records:
        by_id[e.id].append((at, e))
    out = set()
    for i, copies in by_id.items():
        if len(copies) == 1:
            continue
        copies.sort(key=lambda c: c[0])
        (first_at, first), (second_at, second) = copies[0], copies[-1]
        assert len(copies) == 2 and first_at < kill <= second_at, (i, [(at, e.type) for at, e in copies], kill)
        assert (first.type, first.payload) == (second.type, second.payload), i
        out.add(i)
    return out
