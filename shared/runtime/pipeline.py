"""One way a consumed record is processed, whichever client read it (the group Consumer, SLA's faust agent, the
gateway's event hub): size check → decode → verify → handler with retries → dead letter with the reason.

The pipeline sees a record's bytes and coordinates (:class:`RawRecord`), never a client's record type, and parks
what it cannot handle through the ``park`` it is given, so no record can stop the loop that feeds it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from shared.runtime.metrics import HANDLER_LATENCY, MESSAGES_CONSUMED
from shared.runtime.tracing import Tracing

log = logging.getLogger(__name__)
T = TypeVar("T")


class Poison(Exception):
    """Raised by a handler for input that will never succeed: dead-letter at once, no retries."""


@dataclass(frozen=True)
class RawRecord:
    """A consumed record's bytes and where it came from: all a dead letter needs to be found and replayed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
           headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> RawRecord:
        """From any client's fields (faust hands headers over as a mapping, aiokafka as pairs)."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        return cls(topic, partition, offset, key, value, list(pairs))

    def header(self, name: str) -> str | None:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), None)


class Outcome(Enum):
    handled = "handled"
    parked = "parked"  # dead-lettered (or, for a reader that parks nothing, skipped)


Park = Callable[[RawRecord, str], Awaitable[None]]
Verify = Callable[[RawRecord, T], str | None]
# Handles a partition's decoded records in their order, in one go (one read and one write per collection); it
# must be idempotent like any handler, since a failed batch is handled again record by record.
BatchHandler = Callable[[list[T]], Awaitable[None]]


class RecordPipeline(Generic[T]):
    """Decodes, verifies and handles records one at a time; counts and times them per service and topic."""

    def __init__(self, decoder: Callable[[bytes], T], handler: Callable[[T], Awaitable[None]], park: Park, *,
                 max_bytes: int, retries: int, service: str, topic: str, group: str,
                 retry_backoff: float = 0.05, verify: Verify[T] | None = None, tracing: Tracing | None = None,
                 ) -> None:
        self.decoder, self.handler, self.park = decoder, handler, park
        self.max_bytes, self.retries, self.retry_backoff = max_bytes, retries, retry_backoff
        self.service, self.topic, self.group = service, topic, group
        self.verify = verify  # a decoded record's reason to be refused (e.g. an unsigned command), or None
        self.tracing = tracing
        self.processed = 0
        # this pipeline's series, looked up once instead of once per record (a lookup hashes and locks)
        self._consumed = MESSAGES_CONSUMED.labels(service, topic)
        self._latency = HANDLER_LATENCY.labels(service, topic)

    async def process(self, record: RawRecord) -> Outcome:
        self._consumed.inc()
        readable = await self._readable(record)
        if readable is None:
            return Outcome.parked
        value = readable[0]
        started = time.perf_counter()
        if self.tracing is None:
            outcome = await self._handle(record, value)
        else:
            key = record.key.decode(errors="replace") if record.key else None
            with self.tracing.consume(record.topic, record.headers, self.group, key, record.header("type")):
                outcome = await self._handle(record, value)
        self.processed += 1
        self._latency.observe(time.perf_counter() - started)
        return outcome

    async def process_batch(self, records: list[RawRecord], batch: BatchHandler[T]) -> None:
        """Records of one or more partitions, each partition's in order: what cannot be read is parked, the rest
        goes to ``batch`` at once. If the batch fails, each partition's records are tried again as a batch of their
        own (a bad record costs only its partition the slow way), and a partition's batch that fails too is
        handled one record at a time with retries, so only a bad record is parked; records a failed batch already
        took effect for are deduplicated by the handler, as on a redelivery."""
        good: list[tuple[RawRecord, T]] = []
        self._consumed.inc(len(records))
        for record in records:
            readable = await self._readable(record)
            if readable is not None:
                good.append((record, readable[0]))
        if not good:
            return
        started = time.perf_counter()
        partitions = sorted({r.partition for r, _ in good})
        if not await self._batch(good, batch, "partition by partition" if len(partitions) > 1 else "one by one"):
            for partition in partitions:
                mine = [(r, v) for r, v in good if r.partition == partition]
                if len(partitions) == 1 or not await self._batch(mine, batch, "one by one"):
                    for record, value in mine:
                        await self._handle(record, value)
        self.processed += len(good)
        self._latency.observe((time.perf_counter() - started) / len(good))

    async def _batch(self, good: list[tuple[RawRecord, T]], batch: BatchHandler[T], then: str) -> bool:
        try:
            await batch([value for _, value in good])
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{'batch' if then == 'one by one' else 'batch of several partitions'} failed, handling "
                        f"its records {then}", extra={"topic": self.topic, "records": len(good), "error": repr(exc)})
            return False

    async def _readable(self, record: RawRecord) -> tuple[T] | None:
        """The decoded, verified value, or None once the record is dead-lettered."""
        raw = record.value or b""
        if len(raw) > self.max_bytes:
            await self._park(record, f"oversize: {len(raw)} bytes > {self.max_bytes}")
            return None
        try:
            value = self.decoder(raw)
        except Exception as exc:
            await self._park(record, f"undecodable: {exc}")
            return None
        if self.verify is not None and (refusal := self.verify(record, value)):
            await self._park(record, f"rejected: {refusal}")
            return None
        return (value,)

    async def _handle(self, record: RawRecord, value: T) -> Outcome:
        """The handler with retries and a growing pause; what never succeeds is parked."""
        attempt = 0
        while True:
            try:
                await self.handler(value)
                return Outcome.handled
            except asyncio.CancelledError:
                raise
            except Poison as exc:
                return await self._park(record, f"rejected: {exc}")
            except Exception as exc:
                attempt += 1
                if attempt > self.retries:
                    log.exception("handler failed after retries", extra={"topic": self.topic})
                    return await self._park(record, f"handler failed after {self.retries} retries: {exc!r}")
                await asyncio.sleep(self.retry_backoff * (2 ** (attempt - 1)))

    async def _park(self, record: RawRecord, reason: str) -> Outcome:
        await self.park(record, reason)
        return Outcome.parked
