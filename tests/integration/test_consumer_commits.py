"""shared.runtime.kafka.Consumer on the real broker: a partition's next records are handled while the commit of its
last ones is still in flight, commits go in order, and a stopping consumer lands what it handled."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.kafka import COMMIT_EVERY_S, Consumer, KafkaBus, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings


class HeldCommits(Consumer[bytes]):
    """Its first commit waits for ``release``; every commit's offsets are noted in order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.release = asyncio.Event()
        self.commits: list[dict[int, int]] = []

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        if not self.commits:
            self.commits.append({})  # the held one, filled once it goes through
            await self.release.wait()
            self.commits[0] = {tp.partition: o for tp, o in offsets.items()}
        else:
            self.commits.append({tp.partition: o for tp, o in offsets.items()})
        await super()._commit(consumer, offsets)


async def _committed(settings: CommonSettings, group: str, topic: str) -> int | None:
    probe = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        return await probe.committed(TopicPartition(topic, 0))
    finally:
        await probe.stop()


@dataclass
class Rig:
    settings: CommonSettings
    bus: KafkaBus
    seen: list[bytes] = field(default_factory=list)

    @property
    def topic(self) -> str:
        return TICKETS_COMMANDS.full(self.settings.topic_prefix)

    async def handle(self, value: bytes) -> None:
        self.seen.append(value)

    def consumer(self, group: str) -> HeldCommits:
        return HeldCommits(self.bus, TICKETS_COMMANDS, group, self.handle, decoder=lambda raw: raw)


@asynccontextmanager
async def held_commits(env: dict[str, str], group: str) -> AsyncIterator[tuple[Rig, HeldCommits]]:
    """A started consumer whose first commit waits for its ``release``, on a bus of its own."""
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    rig = Rig(settings, KafkaBus(settings, "test"))
    await rig.bus.start()
    consumer = rig.consumer(group)
    await consumer.start()
    try:
        yield rig, consumer
    finally:
        consumer.release.set()
        if consumer.is_running():
            await consumer.stop()
        await rig.bus.stop()


async def test_records_are_handled_while_a_commit_is_in_flight(env: dict[str, str]) -> None:
    async with held_commits(env, "held-commits") as (rig, consumer):
        settings, topic, seen, bus = rig.settings, rig.topic, rig.seen, rig.bus
        await bus.producer.send_and_wait(topic, b"first", partition=0)
        await eventually(lambda: consumer.commits, timeout=20, message="the first commit started")
        for i in range(3):
            await bus.producer.send_and_wait(topic, f"next-{i}".encode(), partition=0)
        # the first commit is still held: the records after it are handled all the same
        await eventually(lambda: len(seen) == 4, timeout=20, message="records handled behind a held commit")
        assert len(consumer.commits) == 1, "one commit at a time: the later offsets wait for the held one"
        consumer.release.set()
        await eventually(lambda: len(consumer.commits) >= 2, timeout=20, message="the owed commit after it")
        assert consumer.commits[0] == {0: 1}
        assert consumer.commits[-1] == {0: 4}, "the latest offset owed, not one per batch"
        assert await eventually(lambda: _committed(settings, consumer.group_id, topic), timeout=10) == 4
    assert seen == [b"first", b"next-0", b"next-1", b"next-2"]


async def test_a_stopping_consumer_lands_its_commit(env: dict[str, str]) -> None:
    """Stopped while its commit is held: the stop waits for it (up to a bound), so nothing handled comes again."""
    async with held_commits(env, "landing") as (rig, consumer):
        settings, topic, seen, bus = rig.settings, rig.topic, rig.seen, rig.bus
        for i in range(2):
            await bus.producer.send_and_wait(topic, f"r-{i}".encode(), partition=0)
        await eventually(lambda: consumer.commits and len(seen) == 2, timeout=20, message="handled, commit held")
        stopping = asyncio.create_task(consumer.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done(), "the stop waits for the commit in flight"
        consumer.release.set()
        await stopping
        assert await _committed(settings, consumer.group_id, topic) == 2, "both handled records committed"
        again = rig.consumer("landing")
        again.release.set()
        await again.start()
        await bus.producer.send_and_wait(topic, b"after", partition=0)
        await eventually(lambda: seen[-1] == b"after", timeout=30, message="the restarted consumer's record")
        await again.stop()
    assert seen == [b"r-0", b"r-1", b"after"], "nothing handled before the stop came again"


class TimedCommits(Consumer[bytes]):
    """Notes when the loop starts each commit (creates its task; the task itself may run a little later)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started: list[float] = []

    def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> Coroutine[Any, Any, None]:
        self.started.append(time.monotonic())
        return super()._commit(consumer, offsets)


async def test_a_busy_consumer_commits_at_most_every_interval_and_the_last_offsets_too(env: dict[str, str]) -> None:
    async with held_commits(env, "spaced") as (rig, _):
        settings, topic, bus = rig.settings, rig.topic, rig.bus
        spaced = TimedCommits(bus, TICKETS_COMMANDS, "spaced-commits", rig.handle, decoder=lambda raw: raw)
        await spaced.start()
        try:
            for i in range(30):  # one by one: a batch and an offset owed each
                await bus.producer.send_and_wait(topic, f"s-{i}".encode(), partition=0)
            async def all_committed() -> bool:
                return await _committed(settings, spaced.group_id, topic) == 30

            await eventually(all_committed, timeout=20, message="the last offsets owed are committed")
        finally:
            await spaced.stop()
        gaps = [b - a for a, b in itertools.pairwise(spaced.started)]
        assert gaps and min(gaps) >= COMMIT_EVERY_S * 0.9, gaps
