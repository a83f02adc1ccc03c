"""shared.runtime.kafka.Consumer with a batch handler, on the real broker, when things go wrong: a failed call is tried
again partition by partition, and a crash between the call's publish and the commit redelivers without a second
effect."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.kafka import Consumer, Poison, read_dead_letters
from tests.integration.consumer_groups_support import Desk, committed, committed_as, consumer, outputs, rig
from tests.support.testing import eventually


async def test_a_failed_call_is_tried_again_partition_by_partition(env: dict[str, str]) -> None:
    """A bad record costs only its own partition the one-by-one path: the partitions fetched with it are handled
    again as a batch of their own."""
    async with rig(env) as (settings, bus, topic):
        good = [f"g-{i}".encode() for i in range(4)]
        for v in good:
            await bus.producer.send(topic, v, partition=0)
        await bus.producer.send(topic, b"bad", partition=1)
        await bus.producer.send(topic, b"after-bad", partition=1)
        await bus.producer.flush()
        desk = Desk(bus)
        singles: list[bytes] = []

        async def batch(values: list[bytes]) -> None:
            if b"bad" in values:
                raise ValueError("a record the batch cannot take")
            await desk.batch(values)

        async def one(value: bytes) -> None:
            if value == b"bad":
                raise Poison("never")
            singles.append(value)
            await desk.batch([value])

        c = Consumer(bus, TICKETS_COMMANDS, "groups-fallback", one, decoder=lambda raw: raw, batch_handler=batch)
        await c.start()
        try:
            await eventually(lambda: len(desk.effects) == 5, timeout=30, message="all but the bad record")
            assert good in desk.calls, "partition 0 handled as a batch of its own"
            assert singles == [b"after-bad"], "only the bad record's partition went one by one"
            dead: list[dict[str, Any]] = await eventually(lambda: read_dead_letters(settings, TICKETS_COMMANDS),
                                                          timeout=20, message="the bad record parked")
            assert [d["value"] for d in dead] == [b"bad"]
            await eventually(lambda: committed_as(settings, c.group_id, topic, {0: 4, 1: 2}), timeout=20,
                             message="both partitions committed")
        finally:
            await c.stop()


class NeverCommits(Consumer[bytes]):
    """Crashes between its handler's publish and the commit: the commit never reaches the broker."""

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.Event().wait()


async def test_a_crash_between_publish_and_commit_redelivers_without_a_second_effect(env: dict[str, str]) -> None:
    async with rig(env) as (settings, bus, topic):
        values = [f"c-{i}".encode() for i in range(8)]
        for i, v in enumerate(values):
            await bus.producer.send(topic, v, partition=i % 4)
        await bus.producer.flush()
        desk = Desk(bus)
        crashing = NeverCommits(bus, TICKETS_COMMANDS, "groups-crash", desk.one, decoder=lambda raw: raw,
                                batch_handler=desk.batch)
        await crashing.start()
        await eventually(lambda: len(desk.effects) == 8, timeout=30, message="handled and published")
        await crashing.stop()  # the commit never landed: as a crash after the publish
        assert await committed(settings, crashing.group_id, topic) == {}
        first_calls = len(desk.calls)
        again = consumer(bus, "groups-crash", desk)
        await again.start()
        try:
            await eventually(lambda: sum(len(c) for c in desk.calls[first_calls:]) >= 8, timeout=30,
                             message="every record delivered again")
            await eventually(lambda: committed_as(settings, again.group_id, topic, {p: 2 for p in range(4)}),
                             timeout=20, message="committed by the second consumer")
        finally:
            await again.stop()
        assert sorted(desk.effects) == sorted(values), "nothing lost, each effect once"
        published = await outputs(settings)
        assert set(published) == {f"out-{v.decode()}" for v in values}, "every output published"
