"""shared.runtime.kafka.Consumer with a batch handler, on the real broker: a fetch's partitions go to the handler in
one call (each partition's records in order), a held call holds up only the partitions fetched with it, offsets are
committed only after the call, and a crash between its publish and the commit redelivers without a second effect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import GROUP_RECORDS, Consumer, KafkaBus, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings

AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Desk:
    """A batch handler that publishes one output per input and keeps each input's effect once (by its value)."""

    bus: KafkaBus
    calls: list[list[bytes]] = field(default_factory=list)
    effects: dict[bytes, int] = field(default_factory=dict)
    hold: asyncio.Event | None = None

    async def one(self, value: bytes) -> None:
        await self.batch([value])

    async def batch(self, values: list[bytes]) -> None:
        self.calls.append(values)
        if self.hold is not None and any(v.startswith(b"slow") for v in values):
            await self.hold.wait()
        for v in values:
            self.effects.setdefault(v, len(self.effects))  # idempotent: a redelivery has no second effect
        await self.bus.publish_many(TICKETS_EVENTS, [
            Envelope(id=f"out-{v.decode()}", type="Out", ticket_id=v.decode(), occurred_at=AT) for v in values])


@asynccontextmanager
async def rig(env: dict[str, str]) -> AsyncIterator[tuple[CommonSettings, KafkaBus, str]]:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter, TICKETS_EVENTS])
    bus = KafkaBus(settings, "test")
    await bus.start()
    try:
        yield settings, bus, TICKETS_COMMANDS.full(settings.topic_prefix)
    finally:
        await bus.stop()


def consumer(bus: KafkaBus, group: str, desk: Desk) -> Consumer[bytes]:
    return Consumer(bus, TICKETS_COMMANDS, group, desk.one, decoder=lambda raw: raw, batch_handler=desk.batch)


async def committed(settings: CommonSettings, group: str, topic: str) -> dict[int, int]:
    probe = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        found = {p: await probe.committed(TopicPartition(topic, p)) for p in range(TICKETS_COMMANDS.partitions)}
        return {p: o for p, o in found.items() if o}
    finally:
        await probe.stop()


async def test_a_fetch_goes_to_the_batch_handler_at_once_in_partition_order(env: dict[str, str]) -> None:
    async with rig(env) as (settings, bus, topic):
        for i in range(12):  # before the consumer starts: one fetch finds them all
            await bus.producer.send(topic, f"r-{i % 3}-{i}".encode(), partition=i % 3)
        await bus.producer.flush()
        desk = Desk(bus)
        c = consumer(bus, "groups-order", desk)
        await c.start()
        try:
            await eventually(lambda: len(desk.effects) == 12, timeout=30, message="all twelve handled")
            assert any(len({v.split(b"-")[1] for v in call}) > 1 for call in desk.calls), \
                f"one call took several partitions: {desk.calls}"
            for p in range(3):
                mine = [v for call in desk.calls for v in call if v.startswith(f"r-{p}-".encode())]
                assert mine == [f"r-{p}-{i}".encode() for i in range(p, 12, 3)], "each partition in its order"
            await eventually(lambda: _all(settings, c.group_id, topic, {0: 4, 1: 4, 2: 4}), timeout=20,
                             message="each partition committed after its records")
        finally:
            await c.stop()


async def test_a_burst_goes_to_the_batch_handler_in_bounded_calls(env: dict[str, str]) -> None:
    """A burst larger than ``GROUP_RECORDS`` is split, so the next service can start on its first records."""
    async with rig(env) as (settings, bus, topic):
        n = GROUP_RECORDS * 3
        for i in range(n):
            await bus.producer.send(topic, f"b-{i % 3}-{i}".encode(), partition=i % 3)
        await bus.producer.flush()
        desk = Desk(bus)
        c = consumer(bus, "groups-burst", desk)
        await c.start()
        try:
            await eventually(lambda: len(desk.effects) == n, timeout=30, message="the whole burst handled")
            assert len(desk.calls) > 1 and max(len(call) for call in desk.calls) <= GROUP_RECORDS
            for p in range(3):
                mine = [v for call in desk.calls for v in call if v.startswith(f"b-{p}-".encode())]
                assert mine == [f"b-{p}-{i}".encode() for i in range(p, n, 3)], "each partition in its order"
        finally:
            await c.stop()


async def _all(settings: CommonSettings, group: str, topic: str, want: dict[int, int]) -> bool:
    return await committed(settings, group, topic) == want


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
            await eventually(lambda: _all(settings, c.group_id, topic, {1: 2, 2: 2}), timeout=20,
                             message="their offsets committed, none of the held partition's")
            desk.hold.set()  # type: ignore[union-attr]
            await eventually(lambda: len(desk.effects) == 6, timeout=30, message="the held partition after")
            assert [v for v in desk.effects if v.startswith(b"slow")] == [b"slow-0", b"slow-1"], "in order"
            await eventually(lambda: _all(settings, c.group_id, topic, {0: 2, 1: 2, 2: 2}), timeout=20,
                             message="all committed")
        finally:
            desk.hold.set()  # type: ignore[union-attr]
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
            await eventually(lambda: _all(settings, again.group_id, topic, {p: 2 for p in range(4)}), timeout=20,
                             message="committed by the second consumer")
        finally:
            await again.stop()
        assert sorted(desk.effects) == sorted(values), "nothing lost, each effect once"
        outputs = await _outputs(settings)
        assert set(outputs) == {f"out-{v.decode()}" for v in values}, "every output published"


async def _outputs(settings: CommonSettings) -> list[str]:
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(TICKETS_EVENTS.partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        out: list[str] = []
        while [tp for tp in tps if await reader.position(tp) < ends[tp]]:
            for records in (await reader.getmany(timeout_ms=500)).values():
                out += [Envelope.from_bytes(r.value).id for r in records]
        return out
    finally:
        await reader.stop()
