"""Durable timers in MongoDB, fired by the worker that owns the ticket's partition.

Why not an in-memory heap alone: a worker restart or a rebalance must neither skip
nor repeat a due timer. Each timer is a document keyed by a deterministic id, with
the Kafka partition of its ticket; a tick asks the index for due timers of the
partitions this worker owns (cost grows with due timers, not with open tickets).
Firing = the owner's effect (publishing with ids derived from the timer id, so a
re-fire after a crash dedupes downstream), then marking the timer fired.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka.partitioner import murmur2
from pymongo import ASCENDING, DeleteMany, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.runtime.clock import as_utc
from shared.runtime.mongo import duplicates_only

log = logging.getLogger(__name__)


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``: same as the producer's."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class NotYet(Exception):  # noqa: N818 - a verdict, not an error
    """Raised by a timer's owner when its state has not caught up with the timer yet: the timer stays due.

    Why: an owner writes a timer before its view of the ticket (effects first, then the view), so its timer
    loop can find a due timer whose cause the consumer has not saved yet (mid-flight, or replaying after a
    crash). Firing then would decide on the stale view and use the timer up; leaving it due retries it on
    the next tick, in real time, whatever the injected clock says.
    """


class Patience:
    """How long a timer may wait for its owner's state: ``tries`` ticks and ``seconds`` of real time.

    ``wait`` raises NotYet while either bound still holds and returns once both are spent, so a lost cause
    never keeps a timer due. The caller then deletes the timer rather than use it up: the cause, when its
    event is replayed, schedules the same id again (routing's auto-assign, SLA's steps).
    """

    def __init__(self, tries: int = 50, seconds: float = 5.0) -> None:
        self.tries, self.seconds = tries, seconds
        self._waiting: dict[str, tuple[int, float]] = {}

    def wait(self, timer_id: str) -> None:
        tries, since = self._waiting.get(timer_id, (0, time.monotonic()))
        tries += 1
        if tries <= self.tries or time.monotonic() - since < self.seconds:
            if len(self._waiting) > 10_000:
                self._waiting.clear()
            self._waiting[timer_id] = (tries, since)
            raise NotYet(timer_id)
        self._waiting.pop(timer_id, None)
        log.warning("timer fired without its state: it never caught up", extra={"timer": timer_id})

    def caught_up(self, timer_id: str) -> None:
        self._waiting.pop(timer_id, None)


@dataclass(frozen=True)
class Timer:
    id: str
    ticket_id: str
    due_at: datetime
    kind: str
    data: dict[str, Any]
    partition: int


TIMER_INDEXES = [
    IndexModel([("fired", ASCENDING), ("due_at", ASCENDING)]),
    IndexModel([("fired", ASCENDING), ("partition", ASCENDING), ("due_at", ASCENDING)]),
    IndexModel([("ticket_id", ASCENDING), ("fired", ASCENDING)]),
]


def _timer(d: dict[str, Any]) -> Timer:
    return Timer(id=d["_id"], ticket_id=d["ticket_id"], due_at=as_utc(d["due_at"]), kind=d["kind"],
                 data=d.get("data") or {}, partition=d["partition"])


class TimerStore:
    def __init__(self, collection: AsyncCollection, partitions: int) -> None:
        self.col, self.partitions = collection, partitions
        self._listeners: list[Callable[[datetime], None]] = []

    def on_schedule(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener(due_at)`` after each timer this store schedules (a resting loop wakes for a sooner one)."""
        self._listeners.append(listener)

    def _scheduled(self, due_at: datetime) -> None:
        for listener in self._listeners:
            listener(due_at)

    async def ensure_indexes(self) -> None:
        await self.col.create_indexes(TIMER_INDEXES)

    async def schedule(self, timer_id: str, ticket_id: str, due_at: datetime, kind: str,
                       data: dict[str, Any] | None = None) -> None:
        """Idempotent: scheduling the same id again moves an unfired timer, never revives a fired one."""
        try:
            await self.col.update_one(
                {"_id": timer_id, "fired": {"$ne": True}},
                {"$set": {"ticket_id": ticket_id, "due_at": as_utc(due_at), "kind": kind, "data": data or {},
                          "partition": partition_for(ticket_id, self.partitions), "fired": False}},
                upsert=True)
        except DuplicateKeyError:
            pass  # already fired
        self._scheduled(as_utc(due_at))

    async def schedule_many(self, timers: Iterable[Timer]) -> None:
        timers = list(timers)
        ops = [UpdateOne({"_id": tm.id, "fired": {"$ne": True}},
                         {"$setOnInsert": {"fired": False},
                          "$set": {"ticket_id": tm.ticket_id, "due_at": as_utc(tm.due_at), "kind": tm.kind,
                                   "data": tm.data, "partition": tm.partition}}, upsert=True)
               for tm in timers]
        if ops:
            try:
                await self.col.bulk_write(ops, ordered=False)
            except BulkWriteError as exc:  # duplicate keys: those timers already fired
                duplicates_only(exc)
            self._scheduled(min(as_utc(tm.due_at) for tm in timers))

    async def cancel(self, timer_id: str) -> None:
        await self.col.delete_one({"_id": timer_id, "fired": False})

    async def cancel_for_ticket(self, ticket_id: str, kinds: Iterable[str] | None = None) -> int:
        query: dict[str, Any] = {"ticket_id": ticket_id, "fired": False}
        if kinds is not None:
            query["kind"] = {"$in": list(kinds)}
        return (await self.col.delete_many(query)).deleted_count

    async def cancel_for_tickets(self, ticket_ids: Iterable[str], kinds: Iterable[str] | None = None) -> None:
        """``cancel_for_ticket`` for many tickets in one write (one equality delete per ticket: no ``$in`` scan)."""
        base: dict[str, Any] = {"fired": False} if kinds is None else {"fired": False, "kind": {"$in": list(kinds)}}
        ops = [DeleteMany({"ticket_id": ticket_id, **base}) for ticket_id in ticket_ids]
        if ops:
            await self.col.bulk_write(ops, ordered=False)

    async def due(self, now: datetime, partitions: Iterable[int] | None, limit: int = 500) -> list[Timer]:
        """Due timers of ``partitions`` (None: all), earliest first.

        Usually one query: what is due in any partition, on the (fired, due_at) index (bounded by the due
        timers, not the pending ones), keeping the owned ones. Only when that page comes back full and this
        instance owns some partitions only (many due timers of partitions other instances own may fill it)
        it asks partition by partition, so
        an instance's own timers never wait behind others'. Equalities, not ``partition: {$in: [...]}``
        (docs/embedded-database.md).
        """
        wanted = set(partitions) if partitions is not None else None
        docs = [d async for d in self.col.find({"fired": False, "due_at": {"$lte": now}}).sort(
            "due_at", ASCENDING).limit(limit)]
        if len(docs) < limit or wanted is None or wanted >= set(range(self.partitions)):
            # a full page of every partition is already the earliest due timers of those wanted
            return [_timer(d) for d in docs if wanted is None or d["partition"] in wanted]
        found: list[Timer] = []
        for p in sorted(wanted) if wanted is not None else range(self.partitions):
            cursor = self.col.find({"fired": False, "partition": p, "due_at": {"$lte": now}}).sort(
                "due_at", ASCENDING).limit(limit)
            found += [_timer(d) async for d in cursor]
        found.sort(key=lambda tm: tm.due_at)
        return found[:limit]

    async def due_and_next(self, now: datetime, until: datetime, partitions: Iterable[int] | None,
                           limit: int = 500) -> tuple[list[Timer], datetime | None]:
        """``due(now, partitions, limit)`` and, from the same query, when the earliest timer pending after ``now``
        and not after ``until`` is due (any partition; None: none, or the page held only due timers).

        One query serves a tick and the rest after it: what is due up to ``until``, earliest first. Keep ``until -
        now`` short while timers come often (every timer in the window is read, up to ``limit``)."""
        docs = [d async for d in self.col.find({"fired": False, "due_at": {"$lte": until}}).sort(
            "due_at", ASCENDING).limit(limit)]
        due = [d for d in docs if as_utc(d["due_at"]) <= now]
        upcoming = next((as_utc(d["due_at"]) for d in docs[len(due):]), None)
        wanted = set(partitions) if partitions is not None else None
        if len(due) < limit or wanted is None or wanted >= set(range(self.partitions)):
            return [_timer(d) for d in due if wanted is None or d["partition"] in wanted], upcoming
        return await self.due(now, partitions, limit), None  # a full page of others' due timers: page by partition

    async def next_due(self, after: datetime, before: datetime | None = None) -> datetime | None:
        """When the earliest pending timer due after ``after`` (and not after ``before``) is due (any partition;
        None: none). Give ``before``: the embedded database reads every pending timer past ``after`` otherwise."""
        due: dict[str, Any] = {"$gt": after} if before is None else {"$gt": after, "$lte": before}
        doc = await self.col.find_one({"fired": False, "due_at": due}, {"due_at": 1}, sort=[("due_at", ASCENDING)])
        return as_utc(doc["due_at"]) if doc else None

    async def mark_fired(self, timer_id: str, at: datetime) -> None:
        await self.col.update_one({"_id": timer_id}, {"$set": {"fired": True, "fired_at": at}})

    async def mark_fired_many(self, timer_ids: Sequence[str], at: datetime) -> None:
        """Mark timers fired in one write (one equality update per id: no ``$in`` scan)."""
        if timer_ids:
            await self.col.bulk_write([UpdateOne({"_id": i}, {"$set": {"fired": True, "fired_at": at}})
                                       for i in timer_ids], ordered=False)

    async def pending(self) -> int:
        return await self.col.count_documents({"fired": False})
