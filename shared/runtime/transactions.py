"""Kafka transactions for consume -> publish (``KAFKA_TRANSACTIONS``, where the broker has them).

A fetched batch is handled inside one transaction that also carries the consumer group's offsets, so what its
handlers published becomes visible to read_committed readers together with the commit, or not at all: a crash in
between leaves no duplicate for them (the redelivered batch publishes again, in a transaction that commits).
Idempotent handlers stay the guarantee; this only spares downstream the duplicates. One transaction at a time runs
on a producer, so a publish from outside the batch (a timer firing) waits and commits in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.runtime.settings import CommonSettings

_in_batch: ContextVar[bool] = ContextVar("in_kafka_transaction", default=False)
_instances = itertools.count()
# A crashed process's open transaction holds read_committed readers back until the broker aborts it.
TRANSACTION_TIMEOUT_MS = 10_000


def transactional_id(settings: CommonSettings, service: str) -> str:
    """Unique per producer (two producers sharing an id fence each other)."""
    return f"{settings.topic_prefix}frontline-{service}-{socket.gethostname()}-{os.getpid()}-{next(_instances)}"


class Transactions:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def sending(self, producer: AIOKafkaProducer) -> AsyncIterator[None]:
        """Around any send: inside a batch's transaction, nothing more; elsewhere, a transaction of its own."""
        if _in_batch.get():
            yield
            return
        async with self.lock, producer.transaction():
            yield

    async def batch(self, producer: AIOKafkaProducer, group_id: str,
                    work: Callable[[], Awaitable[dict[TopicPartition, int]]]) -> dict[TopicPartition, int]:
        """Run ``work`` (which returns the offsets to commit) in one transaction with those offsets; an error
        aborts it and is raised."""
        async with self.lock:
            token = _in_batch.set(True)  # tasks ``work`` starts inherit it
            try:
                async with producer.transaction():
                    offsets = await work()
                    if offsets:
                        await producer.send_offsets_to_transaction(offsets, group_id)
                return offsets
            finally:
                _in_batch.reset(token)


async def run_batches(consumer: AIOKafkaConsumer, transactions: Transactions, producer: AIOKafkaProducer,
                      group_id: str, max_records: int,
                      handle: Callable[[list[ConsumerRecord]], Awaitable[int]],
                      committed: Callable[[dict[TopicPartition, int]], None]) -> None:
    """The transactional consumer loop: one transaction per fetch, its partitions handled concurrently (a slow
    partition holds the fetch back: the price of committing them together)."""
    while True:
        batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
        if not batches:
            committed({})
            continue

        async def work(batches: dict[TopicPartition, list[ConsumerRecord]] = batches) -> dict[TopicPartition, int]:
            done = await asyncio.gather(*(handle(records) for records in batches.values()))
            assigned = consumer.assignment()  # revoked: the new owner redoes them
            return {tp: offset for tp, offset in zip(batches, done, strict=True) if tp in assigned}

        committed(await transactions.batch(producer, group_id, work))
