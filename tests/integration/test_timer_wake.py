"""A timer loop with ``idle_max`` does not poll while nothing is due: it sleeps until the earliest pending timer
(at most ``idle_max``) and is woken by a timer scheduled sooner through its store (real database, real time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.runtime.clock import SystemClock
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from shared.runtime.timer_loop import TimerLoop
from shared.runtime.timers import Timer, TimerStore
from tests.support.testing import db_commands, eventually, make_settings


def finds(collection: str) -> float:
    return db_commands(collection, "find")


async def test_idle_loop_sleeps_until_the_earliest_timer_and_wakes_for_a_sooner_one(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = TimerStore(database(client, settings)["wake_timers"], partitions=12)
    await store.ensure_indexes()
    clock = SystemClock()
    fired: list[str] = []

    async def fire(timer: Timer) -> None:
        fired.append(timer.id)

    loop = TimerLoop(store, clock, fire, interval=0.05, idle_max=60.0)
    await store.schedule("later", "T-1", clock.now() + timedelta(seconds=2), "auto")
    before = finds("wake_timers")
    await loop.start()
    try:
        await eventually(lambda: fired == ["later"], timeout=30, message="the pending timer fired at its time")
        # polling every 50 ms would have asked ~40 times by now; resting until the due time asks a few times
        assert finds("wake_timers") - before <= 6
        await asyncio.sleep(0)  # let the loop go back to rest (nothing pending: up to idle_max)
        asked = finds("wake_timers")
        await store.schedule("sooner", "T-2", clock.now() + timedelta(milliseconds=300), "auto")
        await eventually(lambda: fired == ["later", "sooner"], timeout=10, message="woken for the sooner timer")
        assert finds("wake_timers") - asked <= 6
    finally:
        await loop.stop()
        await client.close()
