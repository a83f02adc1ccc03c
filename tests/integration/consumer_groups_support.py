"""A batch handler on the real broker for the consumer tests (test_consumer_groups*.py): it publishes one output per
input and keeps each input's effect once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings

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


async def spread(bus: KafkaBus, topic: str, prefix: str, n: int) -> None:
    """``n`` records ``prefix-p-i`` round the first three partitions (``p = i % 3``), all sent before this returns."""
    for i in range(n):
        await bus.producer.send(topic, f"{prefix}-{i % 3}-{i}".encode(), partition=i % 3)
    await bus.producer.flush()


def in_partition_order(desk: Desk, prefix: str, n: int) -> bool:
    """Whether each partition's records of ``spread`` reached the handler in their order."""
    return all([v for call in desk.calls for v in call if v.startswith(f"{prefix}-{p}-".encode())]
               == [f"{prefix}-{p}-{i}".encode() for i in range(p, n, 3)] for p in range(3))


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


async def committed_as(settings: CommonSettings, group: str, topic: str, want: dict[int, int]) -> bool:
    return await committed(settings, group, topic) == want


async def outputs(settings: CommonSettings) -> list[str]:
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
