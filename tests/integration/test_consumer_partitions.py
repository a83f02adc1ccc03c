"""shared.runtime.kafka.Consumer on the real broker: one stuck partition does not hold up the others."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings


async def test_a_blocked_partition_holds_up_only_itself(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    topic = TICKETS_COMMANDS.full(settings.topic_prefix)
    release = asyncio.Event()
    seen: list[bytes] = []

    async def handle(value: bytes) -> None:
        if value.startswith(b"slow"):
            await release.wait()
        seen.append(value)

    bus = KafkaBus(settings, "test")
    await bus.start()
    consumer: Consumer[bytes] = Consumer(bus, TICKETS_COMMANDS, "partitions", handle, decoder=lambda raw: raw)
    await consumer.start()
    try:
        for i in range(3):
            await bus.producer.send_and_wait(topic, f"slow-{i}".encode(), partition=0)
        for batch in range(3):  # arriving over time, as separate fetches
            for i in range(5):
                await bus.producer.send_and_wait(topic, f"fast-{batch}-{i}".encode(), partition=1 + i % 3)
            await asyncio.sleep(0.3)

        fast = await eventually(lambda: len(seen) == 15 and seen, timeout=20, message="other partitions")
        assert not any(v.startswith(b"slow") for v in fast), "partition 0 is still blocked"
        committed = await _eventually_committed(settings, consumer.group_id, topic, 15)
        assert committed[0] in (None, 0), "nothing of the blocked partition is committed"

        release.set()
        await eventually(lambda: len(seen) == 18, timeout=20, message="blocked partition after release")
        assert [v for v in seen if v.startswith(b"slow")] == [b"slow-0", b"slow-1", b"slow-2"], "in order"
        await _eventually_committed(settings, consumer.group_id, topic, 18)
    finally:
        release.set()
        await consumer.stop()
        await bus.stop()


def _sum(committed: dict[int, int | None]) -> int:
    return sum(v or 0 for v in committed.values())


async def _committed(settings: CommonSettings, group: str, topic: str) -> dict[int, int | None]:
    probe = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        return {p: await probe.committed(TopicPartition(topic, p)) for p in range(4)}
    finally:
        await probe.stop()


async def _eventually_committed(settings: CommonSettings, group: str, topic: str,
                                total: int) -> dict[int, int | None]:
    async def reached() -> dict[int, int | None] | None:
        committed = await _committed(settings, group, topic)
        return committed if _sum(committed) == total else None

    result: dict[int, int | None] = await eventually(reached, timeout=10, message=f"{total} offsets committed")
    return result
