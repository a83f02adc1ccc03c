"""Thin aiokafka adapter: typed publishing, at-least-once consuming, dead letters.

Offsets are committed only after the handler's effect, so a crash means
redelivery; handlers are idempotent, so redelivery means no second effect.
A record that cannot be decoded, or whose handler keeps failing, goes to
``<topic>.dlq`` with the reason in its headers and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError

import shared.contracts.schemas  # noqa: F401  (registers every message model)
from shared.contracts.envelope import Envelope, Message, RegistryError, registry
from shared.contracts.topics import TopicSpec, all_topics_with_dead_letters
from shared.runtime.catchup import read_to_end
from shared.runtime.command_auth import signer_for
from shared.runtime.dead_letters import TRUNCATED_BYTES, dead_letter_headers, record_size, truncated_copy
from shared.runtime.fetch_wait import IDLE_LOOK_MS, AdaptiveConsumer, FetchWait
from shared.runtime.health import watch
from shared.runtime.metrics import (
    BATCH_LATENCY,
    CONSUMER_LAG,
    CONSUMER_RESTARTS,
    DEAD_LETTERS,
    DEAD_LETTERS_LOST,
    MESSAGES_PRODUCED,
    PUBLISH_LATENCY,
    RECORD_WAIT,
)
from shared.runtime.pipeline import BatchHandler, RawRecord, RecordPipeline, Verify
from shared.runtime.pipeline import Poison as Poison  # handlers import it from here
from shared.runtime.settings import CommonSettings
from shared.runtime.tasks import cancel
from shared.runtime.tracing import Tracing
from shared.runtime.transactions import TRANSACTION_TIMEOUT_MS, Transactions, run_batches, transactional_id

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long a stopping consumer waits for its commit in flight; past it the records come again (handlers dedupe).
COMMIT_LAND_S = 3.0
# A busy consumer starts a commit at most this often (the latest offsets owed then): each one is a broker request,
# and a crash redelivers at most this much more (handlers dedupe). An idle consumer owes nothing and never waits.
COMMIT_EVERY_S = 0.1
# At most this many records go to one call of a batch handler: a burst is handled in a few calls side by side, so
# the next service starts on the first ones while this one is on the rest, instead of after all of it.
GROUP_RECORDS = 64


def _client_kwargs(settings: CommonSettings) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        kw.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    return kw


async def ensure_topics(settings: CommonSettings, specs: Iterable[TopicSpec] | None = None) -> None:
    """Create missing topics (dev and tests; in production Strimzi KafkaTopic resources own them)."""
    specs = list(specs or all_topics_with_dead_letters())
    admin = AIOKafkaAdminClient(**_client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(s.full(settings.topic_prefix), num_partitions=s.partitions, replication_factor=1,
                     topic_configs={"retention.ms": str(s.retention_ms)})
            for s in specs if s.full(settings.topic_prefix) not in existing
        ]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class KafkaBus:
    """One producer per process; publishing awaits the broker's acknowledgement."""

    def __init__(self, settings: CommonSettings, service: str, *, transactional: bool = False) -> None:
        self.settings = settings
        self.service = service
        # a consume -> publish service's opt-in, effective where the broker has transactions (KAFKA_TRANSACTIONS)
        self.transactions = Transactions() if transactional and settings.kafka_transactions else None
        self.tracing = Tracing(service, settings.tracing)
        self.signer = signer_for(settings, service)  # commands carry their producer's signature
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **_client_kwargs(self.settings),
            client_id=f"frontline-{self.service}",
            acks="all",
            enable_idempotence=self.settings.kafka_idempotence or self.transactions is not None,
            transactional_id=transactional_id(self.settings, self.service) if self.transactions else None,
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
            max_request_size=max(self.settings.max_message_bytes * 2, 1_048_576),
            linger_ms=1,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer:
            await self._producer.stop()
            self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("KafkaBus not started")
        return self._producer

    def topic(self, spec: TopicSpec) -> str:
        return spec.full(self.settings.topic_prefix)

    def _sending(self) -> AbstractAsyncContextManager[None]:
        return self.transactions.sending(self.producer) if self.transactions else nullcontext()

    async def publish(self, spec: TopicSpec, env: Envelope) -> None:
        await self.publish_many(spec, [env])

    async def publish_many(self, spec: TopicSpec, envs: Sequence[Envelope]) -> None:
        topic = self.topic(spec)
        started = time.perf_counter()
        async with self._sending():
            futures = []
            for e in envs:
                value = e.to_bytes()
                headers = [("type", e.type.encode())]
                if self.signer is not None and "command" in spec.kinds:
                    headers += self.signer.headers(e, value)
                with self.tracing.produce(topic, headers, e.ticket_id, e.type):
                    futures.append(await self.producer.send(topic, key=e.ticket_id.encode(), value=value,
                                                            headers=headers))
            await asyncio.gather(*futures)
        PUBLISH_LATENCY.labels(self.service, spec.name).observe(time.perf_counter() - started)
        MESSAGES_PRODUCED.labels(self.service, spec.name).inc(len(envs))

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes,
                          headers: list[tuple[str, bytes]] | None = None) -> None:
        headers = list(headers or [])
        async with self._sending():
            with self.tracing.produce(topic, headers):
                await self.producer.send_and_wait(topic, key=key, value=value, headers=headers)

    async def dead_letter(self, spec: TopicSpec, record: RawRecord, reason: str, group: str) -> None:
        """Park a record with the reason; the original bytes are kept untouched for replay. A record too large to
        park whole is parked as a truncated copy; one that cannot be parked even so is logged and skipped, so
        no record can stop its consumer (a broker that is down still raises: the record comes again)."""
        where = {"topic": record.topic, "partition": record.partition, "offset": record.offset,
                 "size": len(record.value or b""), "reason": reason[:500]}
        dlq = self.topic(spec.dead_letter)
        if record_size(record) <= self.settings.max_message_bytes:
            try:
                await self.publish_raw(dlq, record.key, record.value or b"", dead_letter_headers(record, reason, group))
                DEAD_LETTERS.labels(self.service, spec.name).inc()
                log.warning("dead-lettered record", extra=where)
                return
            except MessageSizeTooLargeError:  # the broker's limit is below ours: park the truncated copy
                pass
        head = min(TRUNCATED_BYTES, self.settings.max_message_bytes // 2)
        value, headers = truncated_copy(record, reason, group, head)
        try:
            await self.publish_raw(dlq, record.key, value, headers)
        except KafkaError as exc:
            DEAD_LETTERS_LOST.labels(self.service, spec.name).inc()
            log.error("record too large to dead-letter, skipped", extra={**where, "error": repr(exc)})
            return
        DEAD_LETTERS.labels(self.service, spec.name).inc()
        log.warning("dead-lettered a truncated copy of an oversize record", extra=where)


def decode_envelope(raw: bytes) -> tuple[Envelope, Message]:
    try:
        env = Envelope.from_bytes(raw)
    except Exception as exc:  # pydantic or JSON error: both mean a malformed record
        raise RegistryError(f"malformed envelope: {exc}") from exc
    return env, registry.parse(env)


PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_assigned: PartitionsHook | None, on_revoked: PartitionsHook | None) -> None:
        self.on_assigned, self.on_revoked = on_assigned, on_revoked

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if self.on_revoked:
            await self.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self.on_assigned:
            await self.on_assigned(set(assigned))


class Consumer(Generic[T]):
    """Consumes one topic in a group; each partition's records in order, partitions fetched apart concurrently."""

    def __init__(
        self,
        bus: KafkaBus,
        spec: TopicSpec,
        group_id: str,
        handler: Callable[[T], Awaitable[None]],
        decoder: Callable[[bytes], T] = decode_envelope,  # type: ignore[assignment]
        *,
        retries: int | None = None,
        retry_backoff: float = 0.05,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
        auto_offset_reset: str = "earliest",
        max_records: int = 500,
        restart_backoff: float = 0.5,
        verify: Verify[T] | None = None,
        batch_handler: BatchHandler[T] | None = None,
    ) -> None:
        self.bus, self.spec = bus, spec
        # a partition's fetched records in one call (one read and one write per collection instead of one per
        # record); traced records keep one span each, so tracing handles them one by one
        self.batch_handler = None if bus.tracing.enabled else batch_handler
        self.group_id = f"{bus.settings.topic_prefix}{group_id}"
        self.pipeline = RecordPipeline(
            decoder, handler, self._park, max_bytes=bus.settings.max_message_bytes,
            retries=bus.settings.handler_retries if retries is None else retries, retry_backoff=retry_backoff,
            service=bus.service, topic=spec.name, group=self.group_id, verify=verify, tracing=bus.tracing)
        self.on_assigned, self.on_revoked = on_assigned, on_revoked
        self.auto_offset_reset = auto_offset_reset
        self.max_records = max_records
        self.restart_backoff = self._backoff = restart_backoff
        self._consumer: AdaptiveConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], None] = lambda: None
        self.failure: str | None = None  # why the loop last died, until the restarted one makes progress
        self.restarts = 0
        self._fetch_records = min(max_records, GROUP_RECORDS) if self.batch_handler is not None else max_records
        self._waited = RECORD_WAIT.labels(bus.service, spec.name)
        self._batched = BATCH_LATENCY.labels(bus.service, spec.name)

    @property
    def processed(self) -> int:
        return self.pipeline.processed

    async def start(self) -> None:
        await self._connect()
        self._unwatch = watch(f"consumer {self.spec.name}", self.problem)
        self._task = asyncio.create_task(self._supervise(), name=f"consume-{self.spec.name}")

    async def _connect(self) -> None:
        self._consumer = AdaptiveConsumer(
            **_client_kwargs(self.bus.settings),
            group_id=self.group_id,
            client_id=f"frontline-{self.bus.service}",
            enable_auto_commit=False,
            auto_offset_reset=self.auto_offset_reset,
            session_timeout_ms=self.bus.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.bus.settings.kafka_heartbeat_interval_ms,
            fetch_wait=FetchWait.from_settings(self.bus.settings),
            max_partition_fetch_bytes=max(self.bus.settings.max_message_bytes * 2, 1_048_576),
            # where anyone publishes in transactions, an aborted one's records are not for us
            isolation_level="read_committed" if self.bus.settings.kafka_transactions else "read_uncommitted",
        )
        self._consumer.subscribe([self.bus.topic(self.spec)], listener=_Listener(self.on_assigned, self.on_revoked))
        await self._consumer.start()

    async def stop(self) -> None:
        self._unwatch()
        await cancel(self._task)
        self._task = None
        await self._disconnect()

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                async with asyncio.timeout(30):
                    await consumer.stop()
            except Exception as exc:  # a broken client is dropped all the same
                log.warning("consumer did not stop cleanly", extra={"topic": self.spec.name, "error": repr(exc)})

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done() and self.failure is None

    @property
    def fetch_wait_ms(self) -> int | None:
        """The fetch wait of the next request: short while records flow, long after a quiet spell."""
        return self._consumer.fetch_wait_ms if self._consumer is not None else None

    def problem(self) -> str | None:
        """For /healthz: None while consuming; why not while the loop is dead or restarting."""
        if self._task is not None and self._task.done():
            return "consumer loop ended and is not restarting"
        return self.failure

    async def _supervise(self) -> None:
        """Run the loop; whatever ends it (an error in a handler's way out, in a commit, in the client) is logged,
        shown in health, and the loop starts again on a new client (its uncommitted records come again)."""
        while True:
            try:
                if self._consumer is None:
                    await self._connect()
                await self._run()
                raise RuntimeError("consumer loop returned")
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                me = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and me is not None and me.cancelling():
                    raise  # stopping
                self.failure = f"loop died: {exc!r}"[:500]
                self.restarts += 1
                CONSUMER_RESTARTS.labels(self.bus.service, self.spec.name).inc()
                log.error("consumer loop died, restarting", exc_info=exc,
                          extra={"topic": self.spec.name, "group": self.group_id, "retry_in": self._backoff})
            await self._disconnect()
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 30.0)

    def _progressed(self) -> None:
        """The loop committed, or is caught up: a restart (if any) worked."""
        self.failure, self._backoff = None, self.restart_backoff

    async def _run(self) -> None:
        """Each fetch's records go to a task of their own, so a slow or backlogged partition holds up only the
        partitions fetched with it: their next records are fetched once the task is done, and their offsets
        committed after them. A consumer with a batch handler hands the task's partitions to it in one call (each
        partition's records in order; records of different partitions have different keys), so a fetch costs one
        read and one write per collection and one publish however many partitions it returned, and takes at most
        ``GROUP_RECORDS`` records; without one, each partition is a task of its own. The commit runs beside the
        next fetch (one at a time, at most one per ``COMMIT_EVERY_S``, the latest offsets owed after it): waiting
        for it held every partition's next fetch a broker round trip. A crash before it lands redelivers, as any
        crash does."""
        assert self._consumer is not None
        consumer = self._consumer
        if self.bus.transactions is not None:
            await run_batches(consumer, self.bus.transactions, self.bus.producer, self.group_id, self.max_records,
                              self._partition, lambda offsets: self._committed(consumer, offsets))
        work: dict[TopicPartition, asyncio.Task[dict[TopicPartition, int]]] = {}  # a task per fetch or partition
        fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord]]] | None = None
        committing: asyncio.Task[None] | None = None
        owed: dict[TopicPartition, int] = {}  # handled, to commit once the commit in flight is done
        next_commit = 0.0  # no commit starts before this (time.monotonic)
        try:
            while True:
                if work:  # records in hand: their partitions' next fetch must not sit behind a long one
                    consumer.flowing()
                if fetch is None:
                    ready = [tp for tp in consumer.assignment() if tp not in work]
                    if ready or not work:  # nothing in hand: all assigned partitions (waits for an assignment)
                        fetch = asyncio.create_task(
                            consumer.getmany(*ready, timeout_ms=IDLE_LOOK_MS, max_records=self._fetch_records))
                waiting: set[asyncio.Future[Any]] = {*work.values(), *([fetch] if fetch else []),
                                                     *([committing] if committing else [])}
                due = max(next_commit - time.monotonic(), 0.0) if owed and committing is None else None
                await asyncio.wait(waiting, timeout=due, return_when=asyncio.FIRST_COMPLETED)
                if committing is not None and committing.done():
                    done, committing = committing, None
                    done.result()  # what is not a KafkaError ends the loop, as before
                finished = {tp: task for tp, task in work.items() if task.done()}
                if fetch is not None and (fetch.done() or finished):
                    # a freed partition is not in a pending fetch's list: cancel it and fetch again
                    batches, fetch = await self._take(fetch), None
                    if not batches and not work:
                        self._progressed()
                    for group in self._groups(batches):
                        task = asyncio.create_task(self._handle(group), name=f"consume-{self.spec.name}")
                        work.update((tp, task) for tp in group)
                if finished:
                    consumer.flowing()
                    for tp, task in finished.items():
                        del work[tp]
                        owed[tp] = task.result()[tp]
                if owed and committing is None and time.monotonic() >= next_commit:
                    committing, owed = asyncio.create_task(self._commit(consumer, owed)), {}
                    next_commit = time.monotonic() + COMMIT_EVERY_S
        finally:
            left: list[asyncio.Task[Any]] = [*set(work.values()), *([fetch] if fetch else [])]
            for pending in left:
                pending.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            if committing is not None or owed:  # what was handled is committed if the broker answers soon
                landing = asyncio.create_task(self._land(consumer, committing, owed))
                await asyncio.wait({landing}, timeout=COMMIT_LAND_S)
                landing.cancel()
                await asyncio.gather(landing, return_exceptions=True)

    def _groups(self, batches: dict[TopicPartition, list[ConsumerRecord]],
                ) -> list[dict[TopicPartition, list[ConsumerRecord]]]:
        """One task's worth of a fetch: all of it for a batch handler, else a partition each."""
        if not batches:
            return []
        if self.batch_handler is not None:
            return [batches]
        return [{tp: records} for tp, records in batches.items()]

    async def _land(self, consumer: AIOKafkaConsumer, committing: asyncio.Task[None] | None,
                    owed: dict[TopicPartition, int]) -> None:
        if committing is not None:
            await committing
        if owed:
            await self._commit(consumer, owed)

    @staticmethod
    async def _take(fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord]]],
                    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """A fetch's records; a cancelled fetch has none (aiokafka drains its buffer only when it returns)."""
        fetch.cancel()
        try:
            return await fetch
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():  # the consumer is stopping, not just this fetch
                raise
            return {}
        except KafkaError as exc:
            log.warning("fetch failed, retrying", extra={"error": repr(exc)})
            await asyncio.sleep(1)
            return {}

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        assigned = consumer.assignment()
        mine = {tp: offset for tp, offset in offsets.items() if tp in assigned}  # revoked: the new owner redoes
        try:
            if mine:
                await consumer.commit(mine)
                self._committed(consumer, mine)
        except KafkaError as exc:  # rebalance in flight: records come again, handlers dedupe
            log.warning("commit failed", extra={"error": repr(exc)})

    def _committed(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Offsets committed (none: caught up, nothing to commit): progress, and the lag behind each partition."""
        self._progressed()
        for tp, offset in offsets.items():  # the fetch's high watermark: right on Tansu too (shared/runtime/catchup.py)
            hw = consumer.highwater(tp)
            if hw is not None:
                CONSUMER_LAG.labels(self.bus.service, self.spec.name, str(tp.partition)).set(max(hw - offset, 0))

    async def _handle(self, group: dict[TopicPartition, list[ConsumerRecord]]) -> dict[TopicPartition, int]:
        """Handle a task's records, each partition's in order; the offsets to commit after them."""
        started = time.time()
        records = [r for batch in group.values() for r in batch]
        for r in records:
            if r.timestamp_type == 0:  # CreateTime: when its producer was handed it
                self._waited.observe(max(started - r.timestamp / 1000, 0.0))
        if self.batch_handler is not None and len(records) > 1:
            await self.pipeline.process_batch([_raw(r) for r in records], self.batch_handler)
        else:
            for record in records:
                await self.pipeline.process(_raw(record))
        self._batched.observe(time.time() - started)
        return {tp: int(batch[-1].offset) + 1 for tp, batch in group.items()}

    async def _partition(self, records: list[ConsumerRecord]) -> int:
        """Handle one partition's records in order (the transactional loop); the offset to commit after them."""
        tp = TopicPartition(records[0].topic, records[0].partition)
        return (await self._handle({tp: records}))[tp]

    async def _park(self, record: RawRecord, reason: str) -> None:
        await self.bus.dead_letter(self.spec, record, reason, self.group_id)


def _raw(record: ConsumerRecord) -> RawRecord:
    return RawRecord.of(record.topic, record.partition, record.offset, record.key, record.value, record.headers)


async def read_dead_letters(settings: CommonSettings, spec: TopicSpec, *, timeout: float = 5.0,
                            ) -> list[dict[str, Any]]:
    """Read a dead-letter topic from the start (operators, tests, the gateway's admin view)."""
    dead = spec.dead_letter
    topic = dead.full(settings.topic_prefix)
    consumer = AIOKafkaConsumer(**_client_kwargs(settings), enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None, isolation_level="read_committed")
    await consumer.start()
    out: list[dict[str, Any]] = []

    def keep(r: ConsumerRecord) -> None:
        headers = {k: v.decode(errors="replace") for k, v in (r.headers or [])}
        out.append({"key": r.key, "value": r.value, "headers": headers, "offset": r.offset})

    try:
        tps = [TopicPartition(topic, p) for p in range(dead.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        await read_to_end(consumer, tps, timeout=timeout, keep=keep, read_committed=True)
        return out
    finally:
        await consumer.stop()
