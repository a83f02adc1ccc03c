"""A resting timer loop (``idle_max`` a minute) looks at once at partitions a rebalance gives it: a due timer the
previous owner left fires within seconds, not after the rest (real broker and database)."""

from __future__ import annotations

import time
from datetime import timedelta

from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import SystemClock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from shared.runtime.timer_loop import OwnedPartitions, TimerLoop
from shared.runtime.timers import Timer, TimerStore, partition_for
from tests.support.testing import eventually, make_settings

IDLE_MAX = 60.0


async def test_partitions_a_rebalance_assigns_wake_a_resting_loop(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_EVENTS, TICKETS_EVENTS.dead_letter])
    client = mongo_client(settings)
    collection = database(client, settings)["rebalance_timers"]
    store = TimerStore(collection, TICKETS_EVENTS.partitions)
    await store.ensure_indexes()
    fired: list[str] = []

    async def fire(timer: Timer) -> None:
        fired.append(timer.id)

    async def ignore(_: bytes) -> None:
        pass

    bus = KafkaBus(settings, "test")
    await bus.start()
    owned = OwnedPartitions(bus.topic(TICKETS_EVENTS))
    ours = Consumer(bus, TICKETS_EVENTS, "rebalance-wake", ignore, decoder=lambda raw: raw,
                    on_assigned=owned.assigned, on_revoked=owned.revoked)
    theirs = Consumer(bus, TICKETS_EVENTS, "rebalance-wake", ignore, decoder=lambda raw: raw)
    loop = TimerLoop(store, SystemClock(), fire, interval=0.05, owned=owned, idle_max=IDLE_MAX)
    await ours.start()
    await theirs.start()
    try:
        await eventually(lambda: 0 < len(owned()) < TICKETS_EVENTS.partitions, timeout=60,
                         message="the two members share the partitions")
        ticket = next(f"T-{i}" for i in range(1000) if partition_for(f"T-{i}", TICKETS_EVENTS.partitions)
                      not in owned())
        # the other member's timer, written by another process: nobody tells this loop of it
        await TimerStore(collection, TICKETS_EVENTS.partitions).schedule(
            "left", ticket, SystemClock().now() - timedelta(seconds=1), "auto")
        await loop.start()
        await eventually(lambda: loop._rest is not None and loop._rest.horizon > 1.0, timeout=30,
                         message="the loop has ticked and rests")
        assert not fired, "not this member's partition"
        await theirs.stop()  # the other member leaves: its partitions come here
        t0 = time.monotonic()
        await eventually(lambda: fired == ["left"], timeout=IDLE_MAX / 2, message="fired after the rebalance")
        assert time.monotonic() - t0 < IDLE_MAX / 2
    finally:
        await loop.stop()
        await theirs.stop()
        await ours.stop()
        await bus.stop()
        await client.close()
