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


class Watched(Consumer[bytes]):
    """Notes its assignment after each rebalance and the partitions of each commit that landed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, on_assigned=self._assigned, **kwargs)
        self.assigned: set[int] | None = None
        self.landed: set[int] = set()

    async def _assigned(self, partitions: set[TopicPartition]) -> None:
        self.assigned = {tp.partition for tp in partitions}

    def _committed(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        self.landed |= {tp.partition for tp in offsets}
        super()._committed(consumer, offsets)


async def test_a_rebalance_during_a_call_commits_only_what_is_still_held(env: dict[str, str]) -> None:
    """A call over every partition is held while a second member joins: when it ends, its consumer commits only the
    partitions it still holds; the new member redoes the others, with no second effect."""
    async with rig(env) as (settings, bus, topic):
        values = [f"slow-{p}".encode() for p in range(TICKETS_COMMANDS.partitions)]
        for p, v in enumerate(values):
            await bus.producer.send(topic, v, partition=p)
        await bus.producer.flush()
        first = Desk(bus, hold=asyncio.Event())
        second = Desk(bus, effects=first.effects)  # one store of effects, as two pods of one service share
        a = Watched(bus, TICKETS_COMMANDS, "groups-rebalance", first.one, decoder=lambda raw: raw,
                    batch_handler=first.batch)
        await a.start()
        b: Consumer[bytes] | None = None
        try:
            await eventually(lambda: first.calls and len(first.calls[0]) == len(values), timeout=30,
                             message="one call over every partition, held")
            held = a.assigned
            b = consumer(bus, "groups-rebalance", second)
            await b.start()
            await eventually(lambda: a.assigned != held and second.effects, timeout=60,
                             message="the second member took partitions and redid their records")
            first.hold.set()  # type: ignore[union-attr]
            await eventually(lambda: committed_as(settings, a.group_id, topic, dict.fromkeys(range(len(values)), 1)),
                             timeout=30, message="every partition committed once by its holder")
            assert a.assigned and a.landed <= a.assigned, "the held call committed only what its consumer holds"
            assert sorted(first.effects) == sorted(values), "each effect once"
        finally:
            first.hold.set()  # type: ignore[union-attr]
            if b is not None:
                await b.stop()
            await a.stop()
