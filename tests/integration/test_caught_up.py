""""The end of a partition" on the real broker with multi-record batches, where the embedded broker's ListOffsets
answer is the first offset of the last batch plus one: every reader that needs the end finds the real one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from shared.contracts.envelope import Envelope
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_EVENTS
from shared.runtime.catchup import read_to_end, seek_past_history
from shared.runtime.kafka import Consumer, KafkaBus, _client_kwargs, ensure_topics, read_dead_letters
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings

WAIT = 60.0


def _event(n: int) -> bytes:
    return Envelope(id=f"e-{n}", type="NoteAdded", version=1, ticket_id="T-1", occurred_at=datetime.now(UTC),
                    payload={}).to_bytes()


async def _batches(settings: CommonSettings, topic: str, sizes: list[int], first: int = 0) -> int:
    """Write one record batch of each size to partition 0 (explicit batches: the broker gets them whole)."""
    producer = AIOKafkaProducer(**_client_kwargs(settings), acks="all", enable_idempotence=settings.kafka_idempotence)
    await producer.start()
    n = first
    try:
        for size in sizes:
            batch = producer.create_batch()
            for _ in range(size):
                batch.append(key=b"T-1", value=_event(n), timestamp=None)
                n += 1
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    return n


async def _reader(settings: CommonSettings, topic: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    consumer = AIOKafkaConsumer(**_client_kwargs(settings), group_id=None, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(TICKETS_EVENTS.partitions)]
    consumer.assign(tps)
    return consumer, tps


async def test_reading_to_the_end_and_starting_after_it_count_every_record_of_the_last_batch(
        env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_EVENTS])
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    total = await _batches(settings, topic, [25, 40])
    consumer, tps = await _reader(settings, topic)
    try:
        await consumer.seek_to_beginning(*tps)
        read: list[int] = []
        assert await read_to_end(consumer, tps, timeout=WAIT, keep=lambda r: read.append(r.offset))
        assert read == list(range(total)), "every record, the last batch's included"

        await seek_past_history(consumer, tps)
        assert await consumer.position(tps[0]) == total, "after the last record, not inside the last batch"
    finally:
        await consumer.stop()


async def test_dead_letters_are_read_to_the_last_record_of_a_multi_record_batch(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    dead = INBOUND_MESSAGES.dead_letter
    await ensure_topics(settings, [dead])
    total = await _batches(settings, dead.full(settings.topic_prefix), [3, 30, 12])
    assert sorted(d["offset"] for d in await read_dead_letters(settings, INBOUND_MESSAGES)) == list(range(total))


async def test_the_gateway_hub_sees_only_events_written_after_it_started(env: dict[str, str]) -> None:
    from services.gateway.ledger.hub import EventHub

    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_EVENTS])
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    history = await _batches(settings, topic, [10, 30])
    hub = EventHub(settings, load_ticket=lambda _: _none(), views=NoCopies())
    await hub.start()
    try:
        await _batches(settings, topic, [1], first=history)
        await eventually(lambda: hub.seen >= 1, timeout=WAIT, message="the hub reading the new event")
        assert hub.seen == 1, f"the hub read {hub.seen - 1} event(s) from before it started"
    finally:
        await hub.stop()


async def _none() -> None:
    return None


class NoCopies:
    async def copy_read(self, ticket_ids: object) -> list[dict[str, object]]:
        return []

    async def catch_up(self) -> int:
        return 0


async def test_consumer_lag_counts_every_record_behind_in_multi_record_batches(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_EVENTS, TICKETS_EVENTS.dead_letter])
    total = await _batches(settings, TICKETS_EVENTS.full(settings.topic_prefix), [30, 50])
    bus = KafkaBus(settings, "lagtest")
    await bus.start()
    seen: list[bytes] = []
    release = asyncio.Event()

    async def handle(value: bytes) -> None:
        if len(seen) == 20:  # the first fetch of 20 is committed; the lag holds still until released
            await release.wait()
        seen.append(value)

    consumer: Consumer[bytes] = Consumer(bus, TICKETS_EVENTS, "lag", handle, decoder=lambda raw: raw, max_records=20)
    labels = {"service": "lagtest", "topic": TICKETS_EVENTS.name, "partition": "0"}

    def lag() -> float | None:
        return REGISTRY.get_sample_value("frontline_consumer_lag", labels)

    await consumer.start()
    try:
        behind = await eventually(lambda: lag(), timeout=WAIT, message="a lag after the first commit")
        assert behind == total - 20, "every record behind the first 20 counts, the last batch's included"
        release.set()
        await eventually(lambda: len(seen) == total and lag() == 0, timeout=WAIT, message="caught up, lag 0")
    finally:
        release.set()
        await consumer.stop()
        await bus.stop()
