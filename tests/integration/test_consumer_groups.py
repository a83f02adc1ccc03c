"""shared.runtime.kafka.Consumer with a batch handler, on the real broker: a fetch's partitions go to the handler in
one call (each partition's records in order, at most GROUP_RECORDS), a held call holds up only the partitions fetched
with it, and offsets are committed only after the call."""

from __future__ import annotations

import asyncio

from shared.runtime.kafka import GROUP_RECORDS
from tests.integration.consumer_groups_support import Desk, committed_as, consumer, in_partition_order, rig, spread
from tests.support.testing import eventually


async def test_a_fetch_goes_to_the_batch_handler_at_once_in_partition_order(env: dict[str, str]) -> None:
    async with rig(env) as (settings, bus, topic):
        await spread(bus, topic, "r", 12)  # before the consumer starts: one fetch finds them all
        desk = Desk(bus)
        c = consumer(bus, "groups-order", desk)
        await c.start()
        try:
            await eventually(lambda: len(desk.effects) == 12, timeout=30, message="all twelve handled")
            assert any(len({v.split(b"-")[1] for v in call}) > 1 for call in desk.calls), \
                f"one call took several partitions: {desk.calls}"
            assert in_partition_order(desk, "r", 12), desk.calls
            await eventually(lambda: committed_as(settings, c.group_id, topic, {0: 4, 1: 4, 2: 4}), timeout=20,
                             message="each partition committed after its records")
        finally:
            await c.stop()


async def test_a_burst_goes_to_the_batch_handler_in_bounded_calls(env: dict[str, str]) -> None:
    """A burst larger than ``GROUP_RECORDS`` is split, so the next service can start on its first records."""
    async with rig(env) as (settings, bus, topic):
        n = GROUP_RECORDS * 3
        await spread(bus, topic, "b", n)
        desk = Desk(bus)
        c = consumer(bus, "groups-burst", desk)
        await c.start()
        try:
            await eventually(lambda: len(desk.effects) == n, timeout=30, message="the whole burst handled")
            assert len(desk.calls) > 1 and max(len(call) for call in desk.calls) <= GROUP_RECORDS
            assert in_partition_order(desk, "b", n), desk.calls
        finally:
            await c.stop()


async def test_a_held_batch_holds_up_only_the_partitions_fetched_with_it(env: dict[str, str]) -> None:
    async with rig(env) as (settings, bus, topic):
        desk = Desk(bus, hold=asyncio.Event())
        c = consumer(bus, "groups-held", desk)
        await c.start()
        try:
            await bus.producer.send_and_wait(topic, b"slow-0", partition=0)
            await eventually(lambda: desk.calls, timeout=30, message="the slow batch started")
            for i in range(4):
                await bus.producer.send_and_wait(topic, f"fast-{i}".encode(), partition=1 + i % 2)
            await bus.producer.send_and_wait(topic, b"slow-1", partition=0)
            await eventually(lambda: len(desk.effects) == 4, timeout=30, message="the other partitions' records")
            assert b"slow-0" not in desk.effects and b"slow-1" not in desk.effects
            await eventually(lambda: committed_as(settings, c.group_id, topic, {1: 2, 2: 2}), timeout=20,
                             message="their offsets committed, none of the held partition's")
            desk.hold.set()  # type: ignore[union-attr]
            await eventually(lambda: len(desk.effects) == 6, timeout=30, message="the held partition after")
            assert [v for v in desk.effects if v.startswith(b"slow")] == [b"slow-0", b"slow-1"], "in order"
            await eventually(lambda: committed_as(settings, c.group_id, topic, {0: 2, 1: 2, 2: 2}), timeout=20,
                             message="all committed")
        finally:
            desk.hold.set()  # type: ignore[union-attr]
            await c.stop()
