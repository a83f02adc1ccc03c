"""Consume -> publish in Kafka transactions (KAFKA_TRANSACTIONS) on a broker that has them: a crash between the
publish and the offset commit leaves a read_committed reader one record, not two. Runs only where the broker has
transactions (tests/support/brokers.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.contracts.envelope import Envelope
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_EVENTS
from shared.runtime.catchup import read_to_end
from shared.runtime.kafka import Consumer, KafkaBus, _client_kwargs, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import eventually, make_settings

WAIT = 60.0


class Crash(BaseException):
    """Not an Exception: nothing on its way out catches it, as with a process dying there."""


def _envelope(id: str) -> Envelope:
    return Envelope(id=id, type="NoteAdded", version=1, ticket_id="T-1", occurred_at=datetime.now(UTC), payload={})


async def _read_committed(settings: CommonSettings) -> list[str]:
    topic = ROUTING_EVENTS.full(settings.topic_prefix)
    reader = AIOKafkaConsumer(**_client_kwargs(settings), group_id=None, enable_auto_commit=False,
                              isolation_level="read_committed")
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(ROUTING_EVENTS.partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ids: list[str] = []
        await read_to_end(reader, tps, timeout=WAIT, read_committed=True,
                          keep=lambda r: ids.append(Envelope.from_bytes(r.value).id))
        return ids
    finally:
        await reader.stop()


async def _committed(settings: CommonSettings, group: str) -> int:
    probe = AIOKafkaConsumer(**_client_kwargs(settings), group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        topic = TICKETS_EVENTS.full(settings.topic_prefix)
        return sum([await probe.committed(TopicPartition(topic, p)) or 0 for p in range(TICKETS_EVENTS.partitions)])
    finally:
        await probe.stop()


@pytest.mark.parametrize("transactions", [True, False], ids=["transactional", "at-least-once"])
async def test_a_crash_between_publish_and_commit_leaves_no_visible_duplicate_in_a_transaction(
        env: dict[str, str], transactions: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(CommonSettings, env, kafka_transactions=transactions, kafka_idempotence=True)
    await ensure_topics(settings, [TICKETS_EVENTS, TICKETS_EVENTS.dead_letter, ROUTING_EVENTS])
    bus = KafkaBus(settings, "routing", transactional=True)
    await bus.start()

    async def handle(delivery: tuple[Envelope, Any]) -> None:
        await bus.publish(ROUTING_EVENTS, _envelope(f"out-{delivery[0].id}"))

    consumer = Consumer(bus, TICKETS_EVENTS, "txn", handle, decoder=lambda raw: (Envelope.from_bytes(raw), None),
                        restart_backoff=0.1)
    crashes: list[str] = []

    def crash_once(real: Any) -> Any:
        async def commit(*args: Any, **kwargs: Any) -> Any:
            if not crashes:
                crashes.append("between publish and commit")
                raise Crash()
            return await real(*args, **kwargs)
        return commit

    if transactions:
        monkeypatch.setattr(bus.producer, "send_offsets_to_transaction",
                            crash_once(bus.producer.send_offsets_to_transaction))
    else:
        monkeypatch.setattr(AIOKafkaConsumer, "commit", crash_once(AIOKafkaConsumer.commit))
    producer = AIOKafkaProducer(**_client_kwargs(settings), acks="all")
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(TICKETS_EVENTS.full(settings.topic_prefix), _envelope("in-1").to_bytes(),
                                     key=b"T-1")
        await eventually(lambda: _committed(settings, consumer.group_id), timeout=WAIT, interval=0.5,
                         message="the input committed after the crash")
        assert crashes and consumer.restarts >= 1, "the loop crashed between publish and commit, and came back"
        published = await _read_committed(settings)
        assert published == (["out-in-1"] if transactions else ["out-in-1", "out-in-1"])
    finally:
        await consumer.stop()
        await producer.stop()
        await bus.stop()
