"""The SLA's timer loop rests while nothing is due (it polled ten times a second) and is woken by the timers its
clock store writes, so a deadline sooner than its rest still fires on time (real broker and database)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from services.sla.app import create_app as sla_app
from services.sla.model import TimerPlan
from services.sla.settings import SlaSettings
from services.sla.store import ClockStore
from shared.runtime.clock import SystemClock
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timer_loop import TimerLoop
from shared.runtime.timers import Timer
from tests.support.testing import db_commands, eventually, make_settings, running


def timer_queries() -> float:
    return db_commands("sla_timers", "find")


async def test_timers_synced_by_the_clock_store_wake_a_resting_loop(env: dict[str, str]) -> None:
    settings = make_settings(SlaSettings, env)
    client = mongo_client(settings)
    store = ClockStore(database(client, settings))
    await store.timers.ensure_indexes()
    clock = SystemClock()
    fired: list[str] = []

    async def fire_many(due: Sequence[Timer]) -> list[str]:
        fired.extend(t.id for t in due)
        return [t.id for t in due]

    loop = TimerLoop(store.timers, clock, fire_many=fire_many, interval=0.1, idle_max=60.0)
    await loop.start()
    try:
        await asyncio.sleep(0.5)  # the loop found nothing pending and rests (up to a minute)
        plan = TimerPlan("wake-breach", clock.now() + timedelta(milliseconds=300), "breach", {"target": "resolution"})
        await store.sync_timers_many({"T-wake": [plan]}, {})
        await eventually(lambda: fired == ["wake-breach"], timeout=20, message="woken for the synced timer")
    finally:
        await loop.stop()
        await client.close()


async def test_an_idle_sla_service_does_not_poll_its_timers(env: dict[str, str]) -> None:
    app = sla_app(make_settings(SlaSettings, env))
    async with running(app):
        await asyncio.sleep(1.0)
        before = timer_queries()
        await asyncio.sleep(3.0)
        asked = timer_queries() - before
    # a tick every 100 ms asked ~30 times, a rest of at most a second with its look-ahead 6; one query a tick whose
    # window doubles while it comes back empty (1, 2, 4 s ...) asks about twice
    assert asked <= 4, f"{asked} timer queries in 3 s of idle"


def clock_queries() -> float:
    return db_commands("sla_clocks")


async def test_an_idle_sla_service_sweeps_for_left_outboxes_ever_more_rarely(env: dict[str, str]) -> None:
    app = sla_app(make_settings(SlaSettings, env, sweep_interval_seconds=0.2))
    async with running(app):
        service = app.state.service
        await eventually(lambda: service.stream.owned_partitions(), timeout=30, message="partitions assigned")
        before = clock_queries()
        await asyncio.sleep(6.0)
        asked = clock_queries() - before
        assert service._sweep_rest > 1.0, "an empty sweep lengthens the next rest"
    # every 0.2 s it asked 30 times; resting 0.2, 0.4, 0.8 … s after each empty round, about 5 times
    assert asked <= 8, f"{asked} clock queries in 6 s of idle"
