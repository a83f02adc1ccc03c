"""MongoDB adapters: clock records (``sla_clocks``), timers (``sla_timers``), directory snapshots, people."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DeleteOne, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.contracts.collections import SLA_CLOCKS, SLA_TIMERS
from shared.contracts.topics import TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, GROUPS
from shared.directory.sla import CALENDARS, DEFAULT_POLICY, LADDERS, POLICIES
from shared.runtime.clock import as_utc
from shared.runtime.timers import Timer, TimerStore, partition_for

from .domain import next_timers
from .model import Catalog, SlaClock, TimerPlan

CLOCKS = SLA_CLOCKS
TIMERS = SLA_TIMERS
# Only what a query reads: the embedded database rewrites every index entry of a document on each update, and a
# clock is written on every event and firing (everyone else reads clocks by _id). ``outbox_pending`` exists only
# while an event's outbox waits for its clear, so the sweep's sparse index holds just those clocks.
INDEXES = {
    CLOCKS: [IndexModel([("outbox_pending", ASCENDING)], sparse=True)],
    # the due query (fired, due_at) and the syncs' per-ticket reads; a backlog's per-partition queries are bounded
    # by the same (fired, due_at) range
    TIMERS: [IndexModel([("fired", ASCENDING), ("due_at", ASCENDING)]),
             IndexModel([("ticket_id", ASCENDING), ("fired", ASCENDING)])],
}


class StaleClock(Exception):
    """Another writer moved the clock on; re-read and decide again."""


class ClockStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.col = db[CLOCKS]
        self.timers = TimerStore(db[TIMERS], TICKETS_EVENTS.partitions)

    async def load(self, ticket_id: str) -> SlaClock | None:
        doc = await self.col.find_one({"_id": ticket_id})
        return SlaClock.from_doc(doc) if doc else None

    async def save(self, before: SlaClock | None, after: SlaClock) -> None:
        """Compare-and-set on ``version``: the event path and the timer path never overwrite each other."""
        after.partition = partition_for(after.id, self.timers.partitions)
        doc = after.to_doc()
        if before is None:
            doc["version"] = 1
            try:
                await self.col.insert_one(doc)
            except DuplicateKeyError as exc:
                raise StaleClock(after.id) from exc
            after.version = 1
            return
        doc["version"] = before.version + 1
        res = await self.col.replace_one({"_id": after.id, "version": before.version}, doc)
        if res.matched_count != 1:
            raise StaleClock(after.id)
        after.version = before.version + 1

    async def load_many(self, ticket_ids: Sequence[str]) -> dict[str, SlaClock]:
        """Clocks by ticket id, in one query (``_id $in`` walks the _id index on every engine)."""
        if not ticket_ids:
            return {}
        return {d["_id"]: SlaClock.from_doc(d) async for d in self.col.find({"_id": {"$in": list(ticket_ids)}})}

    async def save_many(self, pairs: Sequence[tuple[SlaClock, SlaClock]]) -> bool:
        """``save`` for many (before, after) pairs of existing clocks in one write; True when every
        compare-and-set matched. False: some clock moved on and which ones is unknown (each ``after``
        may or may not have landed), so the caller must re-read them."""
        if not pairs:
            return True
        ops = []
        for before, after in pairs:
            after.partition = partition_for(after.id, self.timers.partitions)
            doc = after.to_doc()
            doc["version"] = before.version + 1
            ops.append(ReplaceOne({"_id": after.id, "version": before.version}, doc))
        res = await self.col.bulk_write(ops, ordered=False)
        for before, after in pairs:
            after.version = before.version + 1
        return res.matched_count == len(ops)

    async def save_batch(self, pairs: Sequence[tuple[SlaClock | None, SlaClock]]) -> bool:
        """``save`` for many (before, after) pairs, new clocks (before None) among them, in one bulk write (one
        command per kind: an insert and an update). True when every insert landed and every compare-and-set
        matched; False: which landed is unknown, the caller re-reads (nothing here marks a version as written)."""
        if not pairs:
            return True
        ops: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
        for before, after in pairs:
            after.partition = partition_for(after.id, self.timers.partitions)
            doc = after.to_doc()
            doc["version"] = 1 if before is None else before.version + 1
            ops.append(InsertOne(doc) if before is None else
                       ReplaceOne({"_id": after.id, "version": before.version}, doc))
        try:
            res = await self.col.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            return False  # an opening's clock exists already (a redelivery): the event path reads it
        if res.matched_count != sum(1 for before, _ in pairs if before is not None):
            return False
        for before, after in pairs:
            after.version = 1 if before is None else before.version + 1
        return True

    async def clear_outbox(self, clock: SlaClock) -> bool:
        """Conditional on the version: if the clock moved on meanwhile, a later reader flushes again (same ids).
        True when it was cleared (the stored version is then one more)."""
        res = await self.col.update_one({"_id": clock.id, "version": clock.version},
                                  {"$set": {"outbox": [], "outbox_timers": []}, "$unset": {"outbox_pending": ""},
                                   "$inc": {"version": 1}})
        return res.matched_count == 1

    async def with_outbox(self, partitions: set[int], limit: int = 200) -> list[str]:
        """Clocks of ``partitions`` with an event's outbox not cleared: an equality on the sparse index, which holds
        only such clocks, and the partitions picked here (an ``$in`` beside it may scan, docs/embedded-database.md)."""
        ids = [d["_id"] async for d in self.col.find({"outbox_pending": True}, {"_id": 1, "partition": 1})
               if d.get("partition") in partitions]
        return ids[:limit]

    async def unfired(self, timer_ids: Sequence[str]) -> set[str]:
        """Which of these timers are not marked fired (an ``_id`` read: point lookups)."""
        if not timer_ids:
            return set()
        return {d["_id"] async for d in self.timers.col.find({"_id": {"$in": list(timer_ids)}, "fired": False},
                                                              {"_id": 1})}

    async def sync_timers(self, ticket_id: str, plans: Sequence[TimerPlan], keep: Iterable[str] = ()) -> None:
        """Make the ticket's pending timers exactly the next of ``plans`` (``domain.next_timers``; plus ``keep``,
        those firing now, which the caller marks fired): drop stale ones, upsert the rest."""
        plans = next_timers(list(plans))
        await self.timers.col.delete_many({"ticket_id": ticket_id, "fired": False,
                                           "_id": {"$nin": [p.id for p in plans] + list(keep)}})
        partition = partition_for(ticket_id, self.timers.partitions)
        await self.timers.schedule_many(
            Timer(p.id, ticket_id, p.due_at, p.kind, p.data, partition) for p in plans)

    async def sync_timers_many(self, plans: Mapping[str, Sequence[TimerPlan]],
                               keep: Mapping[str, Iterable[str]],
                               known: Mapping[str, Sequence[TimerPlan]] | None = None) -> None:
        """``sync_timers`` for many tickets, writing only what differs.

        ``known``: per ticket, the plans its clock as loaded implies, which its pending timers match when no crash
        came between a save and its sync (the caller knows: an unpublished outbox). Those tickets' timers are not
        read; the others' are (one equality query per ticket on the (ticket_id, fired) index, sent together: no
        ``ticket_id $in``, docs/embedded-database.md). Then the stale ones go in one delete command and the
        missing or moved ones in one upsert command.
        """
        if not plans:
            return
        known = known or {}
        unknown = [tid for tid in plans if tid not in known]
        read = await asyncio.gather(*(self.timers.col.find({"ticket_id": tid, "fired": False}).to_list(None)
                                      for tid in unknown))
        have_of: dict[str, dict[str, dict[str, Any]]] = {tid: {d["_id"]: d for d in docs}
                                                         for tid, docs in zip(unknown, read, strict=True)}
        stale: list[str] = []
        moved: list[Timer] = []
        for tid, wanted_plans in plans.items():
            partition = partition_for(tid, self.timers.partitions)
            have = have_of[tid] if tid in have_of else \
                {p.id: _as_doc(tid, p, partition) for p in next_timers(list(known[tid]))}
            wanted = {p.id: p for p in next_timers(list(wanted_plans))}
            kept = set(keep.get(tid, ()))
            stale += [i for i in have if i not in wanted and i not in kept]
            for p in wanted.values():
                d = have.get(p.id)
                if d is not None and d.get("kind") == p.kind and d.get("data") == p.data and \
                        d.get("partition") == partition and d.get("ticket_id") == tid and \
                        as_utc(d["due_at"]) == as_utc(p.due_at):
                    continue
                moved.append(Timer(p.id, tid, p.due_at, p.kind, p.data, partition))
        if stale:
            await self.timers.col.bulk_write([DeleteOne({"_id": i, "fired": False}) for i in stale], ordered=False)
        # through the timer store: one bulk upsert, and a resting timer loop is woken for a sooner one
        await self.timers.schedule_many(moved)

    async def drop_unfired(self, timer_ids: Sequence[str]) -> None:
        """Delete these timers unless fired (one equality delete per id: no ``$in`` scan)."""
        if timer_ids:
            await self.timers.col.bulk_write([DeleteOne({"_id": i, "fired": False}) for i in timer_ids],
                                             ordered=False)

    async def mark_fired_many(self, timer_ids: Sequence[str], at: datetime) -> None:
        await self.timers.mark_fired_many(timer_ids, at)


def _as_doc(ticket_id: str, plan: TimerPlan, partition: int) -> dict[str, Any]:
    return {"_id": plan.id, "ticket_id": ticket_id, "due_at": plan.due_at, "kind": plan.kind, "data": plan.data,
            "partition": partition}


class DirectoryCache:
    """SLA directories and people, re-read at most every ``ttl`` seconds (admins edit them rarely)."""

    def __init__(self, db: AsyncDatabase, ttl: float, reminder_offsets: Sequence[float],
                 warning_share: float | None) -> None:
        self.ttl = ttl
        self.policies, self.calendars, self.ladders = (DirectoryStore(db, POLICIES), DirectoryStore(db, CALENDARS),
                                                       DirectoryStore(db, LADDERS))
        self.agents, self.groups = DirectoryStore(db, AGENTS), DirectoryStore(db, GROUPS)
        self.reminder_offsets, self.warning_share = tuple(reminder_offsets), warning_share
        self._catalog: Catalog | None = None
        self._loaded = 0.0

    async def catalog(self) -> Catalog:
        if self._catalog is None or time.monotonic() - self._loaded > self.ttl:
            policies = await self.policies.list(limit=10_000)
            default = next((p for p in policies if p.id == DEFAULT_POLICY.id), DEFAULT_POLICY)
            self._catalog = Catalog(
                policies=tuple(p for p in policies if p.id != default.id), default_policy=default,
                calendars={c.id: c for c in await self.calendars.list(limit=10_000)},
                ladders={x.id: x for x in await self.ladders.list(limit=10_000)},
                reminder_offsets=self.reminder_offsets, default_warning_share=self.warning_share)
            self._loaded = time.monotonic()
        return self._catalog

    async def people(self, roles: Sequence[str], group_id: str | None, assignee: str | None = None,
                     ) -> list[tuple[str, str]]:
        """(user id, role) for each role: group leads from the group, other roles from agents' roles."""
        out: list[tuple[str, str]] = []
        for role in roles:
            if role == "group_lead":
                group = await self.groups.get(group_id) if group_id else None
                out += [(lead, role) for lead in (group.lead_ids if group else [])]
            elif role == "assignee":
                out += [(assignee, role)] if assignee else []
            else:
                out += [(a.id, role) for a in await self.agents.list({"roles": role}) if a.id]
        return out
