"""What KAFKA_TRANSACTIONS costs a consume -> publish consumer: records/s with and without, same broker, same run.

    python -m bench.transactions [--records 2000] [--broker noida]

The routing consumer's shape without its database work: each record of ``tickets.events`` publishes one record
to ``routing.events``; the rate is input records committed per second (transactional: one transaction per fetch
carrying its publishes and offsets; at least once: publish, then commit).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import write_result
from shared.contracts.envelope import Envelope
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_EVENTS
from shared.runtime.kafka import Consumer, KafkaBus, _client_kwargs, ensure_topics
from shared.runtime.settings import CommonSettings
from tools import brokers
from tools.ports import free_port


def _event(n: int) -> bytes:
    return Envelope(id=f"in-{n}", type="NoteAdded", version=1, ticket_id=f"T-{n % 500}",
                    occurred_at="2026-01-01T00:00:00Z", payload={}).to_bytes()


async def _committed(settings: CommonSettings, group: str) -> int:
    probe = AIOKafkaConsumer(**_client_kwargs(settings), group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        topic = TICKETS_EVENTS.full(settings.topic_prefix)
        return sum([await probe.committed(TopicPartition(topic, p)) or 0 for p in range(TICKETS_EVENTS.partitions)])
    finally:
        await probe.stop()


async def run(bootstrap: str, records: int, transactions: bool) -> float:
    prefix = f"bench{int(transactions)}{time.time_ns()}."
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, kafka_idempotence=True,
                              kafka_transactions=transactions, topic_prefix=prefix,
                              kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=1000,
                              kafka_fetch_max_wait_ms=10)
    await ensure_topics(settings, [TICKETS_EVENTS, TICKETS_EVENTS.dead_letter, ROUTING_EVENTS])
    producer = AIOKafkaProducer(**_client_kwargs(settings), acks="all", linger_ms=5)
    await producer.start()
    topic = TICKETS_EVENTS.full(settings.topic_prefix)
    await asyncio.gather(*[await producer.send(topic, _event(n), key=f"T-{n % 500}".encode()) for n in range(records)])
    await producer.stop()
    bus = KafkaBus(settings, "routing", transactional=True)
    await bus.start()

    handled: set[str] = set()
    done = asyncio.Event()

    async def handle(delivery: tuple[Envelope, Any]) -> None:
        env = delivery[0]
        await bus.publish(ROUTING_EVENTS, env.model_copy(update={"id": f"out-{env.id}"}))
        handled.add(env.id)
        if len(handled) == records:
            done.set()

    consumer = Consumer(bus, TICKETS_EVENTS, "bench", handle, decoder=lambda raw: (Envelope.from_bytes(raw), None))
    started = time.perf_counter()
    await consumer.start()
    try:
        await done.wait()
        while await _committed(settings, consumer.group_id) < records:  # noqa: ASYNC110 (the last fetch's commit)
            await asyncio.sleep(0.05)
        return records / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await bus.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--broker", default="noida", choices=sorted(brokers.IDEMPOTENT_KINDS))
    args = parser.parse_args()
    broker = brokers.start(args.broker, None, "127.0.0.1", free_port())
    try:
        plain = asyncio.run(run(broker.bootstrap, args.records, transactions=False))
        txn = asyncio.run(run(broker.bootstrap, args.records, transactions=True))
    finally:
        broker.stop()
    print(f"{args.broker}, {args.records} records, consume -> publish -> commit (group join included):")
    print(f"  at least once  {plain:8.0f} records/s")
    print(f"  transactional  {txn:8.0f} records/s  ({txn / plain:.0%} of at least once)")
    write_result("transactions", {"broker": args.broker, "records": args.records, "at_least_once_rec_s": round(plain),
                                  "transactional_rec_s": round(txn), "share": round(txn / plain, 3)})


if __name__ == "__main__":
    main()
