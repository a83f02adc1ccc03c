"""Notify's MongoDB collections: the ticket projection, the delivery queue, the in-app inbox.

``notify_deliveries`` is both the idempotency record (``_id`` = notification id) and the durable
queue: pending documents survive a restart, and workers claim them with a lease so a worker
that dies mid-send leaves its delivery to be retried, not lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contracts.collections import NOTIFY_DELIVERIES, NOTIFY_INBOX, NOTIFY_TICKETS
from shared.directory import DirectoryStore
from shared.directory.notify import PREFERENCES, TEMPLATES, NotifyPreference, TemplateOverride, template_key
from shared.directory.routing import AGENTS, GROUPS, SERVICES, TEAMS, Staff
from shared.runtime.cached import Cached
from shared.runtime.clock import as_utc
from shared.runtime.ids import new_id
from shared.runtime.mongo import duplicates_only

from .coalesce import Coalescer
from .direct import Workers, lease_first_in_line, wanted
from .lines import Lines
from .ordering import UNDONE, first_in_line
from .projection import TicketView, from_doc, to_doc
from .written import SEARCH_EVERY_SECONDS, Written

log = logging.getLogger(__name__)
TICKETS = NOTIFY_TICKETS
DELIVERIES = NOTIFY_DELIVERIES
INBOX = NOTIFY_INBOX
PUBLISHED = {"$set": {"outcome_published": True}, "$unset": {"unpublished": ""}}
MAX_INSERTED = 20_000
PUBLISHED_LINGER_SECONDS = 1.0  # an outcome's published mark waits at most this long for a sent mark to ride with
ABSENT = object()  # the guard of a view not stored yet: it is inserted, and refused if it is there after all
Directories = tuple[Staff, dict[str, NotifyPreference], dict[str, TemplateOverride]]

INDEXES = {
    TICKETS: [],
    DELIVERIES: [
        IndexModel([("status", ASCENDING), ("channel", ASCENDING), ("next_attempt_at", ASCENDING)]),
        # only outcomes still to publish carry ``unpublished``: the sweep reads those, not every sent delivery, and
        # the other writes of a delivery leave this index alone
        IndexModel([("unpublished", ASCENDING)], sparse=True),
        IndexModel([("provider_id", ASCENDING)], sparse=True),
        IndexModel([("delivery_status", ASCENDING)], sparse=True),  # carrier reports; the admins' failure list
        IndexModel([("ticket_id", ASCENDING), ("created_at", DESCENDING)]),
    ],
    INBOX: [IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)])],
}




async def insert_new(collection: Any, docs: list[dict[str, Any]]) -> set[int]:
    """Insert-if-absent, as a plain bulk insert (a third of an upsert's cost): the positions of the documents that
    were new; one already there (a redelivered event's) is left as it is. Any other refusal raises."""
    if not docs:
        return set()
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        return set(range(len(docs))) - set(duplicates_only(exc))
    return set(range(len(docs)))


class Claim(NamedTuple):
    docs: list[dict[str, Any]]  # leased to the caller
    next_due: datetime | None  # when the earliest pending delivery not yet due is (None: none seen)
    held_back: bool  # due ones waited behind an earlier notice to the same person: a finished send may free them


class NotifyStore:
    """The consumers' reads and writes of views and deliveries are coalesced across partitions (``coalesce.py``)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.tickets, self.deliveries, self.inbox = db[TICKETS], db[DELIVERIES], db[INBOX]
        self._views: Coalescer[str, tuple[TicketView | None, Any]] = Coalescer(self._read_views)
        self._saves: Coalescer[tuple[dict[str, Any], Any], bool] = Coalescer(self._write_views)
        self._adds: Coalescer[Sequence[dict[str, Any]], int] = Coalescer(self._add_deliveries)
        self._marks: Coalescer[tuple[str, datetime, str | None, str | None], None] = Coalescer(self._mark_sent)
        self.written = Written()
        self.lines = Lines()  # the undone deliveries of the tickets it inserts for, kept after one read
        self._inserted: OrderedDict[str, None] = OrderedDict()  # ids of the deliveries it inserted lately
        self._published: set[str] = set()  # outcomes published whose mark waits for the next write (published_later)
        self._flushing: asyncio.Task[None] | None = None
        self.workers: Workers | None = None  # set by the dispatcher: deliveries may be inserted leased to it
        self._searched: dict[str, float] = {}  # channel -> when its queue was last searched (monotonic)

    # ---- projection ------------------------------------------------------------------------------

    async def view(self, ticket_id: str) -> TicketView | None:
        return (await self.read_views([ticket_id]))[ticket_id][0]

    async def read_views(self, ids: Sequence[str]) -> dict[str, tuple[TicketView | None, Any]]:
        """Each view with the guard its write must give (its position as stored). A view's position is raised to
        the highest ``seq`` already given to its ticket's deliveries (``memory.py``: a kept view may have run
        ahead of the stored one), so a notice folded from it never goes before one queued earlier."""
        found = await asyncio.gather(*(self._views(i) for i in ids))
        return dict(zip(ids, found, strict=True))

    async def _read_views(self, ids: list[str]) -> list[tuple[TicketView | None, Any]]:
        wanted = sorted(set(ids))
        docs = {d["_id"]: d async for d in self.tickets.find({"_id": {"$in": wanted}})}
        highest: dict[str, int] = {}
        if docs:
            query = {"ticket_id": {"$in": sorted(docs)}, "seq": {"$ne": None}}
            async for d in self.deliveries.find(query, {"ticket_id": 1, "seq": 1}):
                highest[d["ticket_id"]] = max(highest.get(d["ticket_id"], 0), int(d["seq"]))
        out: list[tuple[TicketView | None, Any]] = []
        for i in ids:
            view = from_doc(docs.get(i))
            if view is None:
                out.append((None, ABSENT))
                continue
            view.position = max(view.position, highest.get(i, 0) // 2)
            out.append((view, docs[i].get("position")))
        return out

    async def save_view(self, view: TicketView) -> None:
        """Unguarded: for tests and tools; the handler writes through ``memory.ViewMemory``."""
        await self.tickets.replace_one({"_id": view.ticket_id}, to_doc(view), upsert=True)

    async def write_views(self, writes: Sequence[tuple[dict[str, Any], Any]]) -> list[bool]:
        """Per view, True when refused: an insert of one already there, or a replace whose stored position is no
        longer the guard (the upsert it turns into finds the id taken)."""
        return list(await asyncio.gather(*(self._saves(w) for w in writes)))

    async def _write_views(self, writes: list[tuple[dict[str, Any], Any]]) -> list[bool]:
        ops: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = [
            InsertOne(doc) if guard is ABSENT else ReplaceOne({"_id": doc["_id"], "position": guard}, doc, upsert=True)
            for doc, guard in writes]
        try:
            await self.tickets.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            refused = set(duplicates_only(exc))
            return [i in refused for i in range(len(writes))]
        return [False] * len(writes)

    # ---- deliveries ------------------------------------------------------------------------------

    async def add_deliveries(self, docs: Sequence[dict[str, Any]]) -> int:
        """Insert-if-absent: a redelivered event finds its deliveries already there and adds nothing. One this process
        inserted lately (a ticket taken, then its work started: one notice) is not even sent to the database."""
        docs = [d for d in docs if d["_id"] not in self._inserted]
        return await self._adds(docs) if docs else 0

    async def _add_deliveries(self, groups: list[Sequence[dict[str, Any]]]) -> list[int]:
        """One bulk insert for every caller's documents; each learns how many of its own were new."""
        docs = [d for g in groups for d in g]  # leased ones are marked so in place: the caller wakes for the rest
        workers = self.workers
        room = {ch: workers.reserve(ch, n) for ch, n in wanted(docs).items()} if workers else {}
        new: set[int] = set()
        leased: list[int] = []
        try:
            if workers is not None and any(room.values()):
                tickets = {d["ticket_id"] for d in docs if room.get(d["channel"])}
                leased = lease_first_in_line(docs, await self._in_line(tickets), room, workers.lease_seconds,
                                             new_id())
            new = await insert_new(self.deliveries, docs)
        finally:  # an insert that failed hands nothing: what it may have written waits for its lease to run out
            for ch, n in room.items():
                if workers is not None and n:
                    workers.hand(ch, [docs[i] for i in leased if i in new and docs[i]["channel"] == ch], n)
        self.written.add(d for i, d in enumerate(docs) if i in new)
        self.lines.added(docs[i] for i in sorted(new))
        for i in new:
            self._inserted[docs[i]["_id"]] = None
        while len(self._inserted) > MAX_INSERTED:
            self._inserted.popitem(last=False)
        counts, start = [], 0
        for g in groups:
            counts.append(sum(1 for i in range(start, start + len(g)) if i in new))
            start += len(g)
        return counts

    async def add_inbox(self, docs: Sequence[dict[str, Any]]) -> None:
        if docs:
            await insert_new(self.inbox, list(docs))

    async def claim_batch(self, channel: str, now: datetime, lease: float, limit: int) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due deliveries that are first in line; a claim token keeps two replicas apart."""
        return (await self.claim_due(channel, now, lease, limit)).docs

    async def claim_due(self, channel: str, now: datetime, lease: float, limit: int) -> Claim:
        """``claim_batch``, with what an idle feeder needs to rest instead of polling (read by the same query):
        when the next pending delivery is due, and whether a due one waits behind another. What this process
        wrote itself is claimed first, by id (``written.py``); the queue is searched when that gives nothing."""
        if time.monotonic() - self._searched.get(channel, -1e18) < SEARCH_EVERY_SECONDS:
            known = self.written.due(channel, now, 2 * limit)
            if known:
                claim = await self._claim(channel, known, None, now, lease, limit)
                if claim.docs:
                    return claim
        self._searched[channel] = time.monotonic()
        pending = {"status": "pending", "channel": channel}
        fields = {"_id": 1, "ticket_id": 1, "recipient": 1, "seq": 1, "next_attempt_at": 1}
        rows = [d async for d in
                self.deliveries.find(pending, fields).sort("next_attempt_at", ASCENDING).limit(limit * 4)]
        candidates = [d for d in rows if as_utc(d["next_attempt_at"]) <= now]
        later = next((as_utc(d["next_attempt_at"]) for d in rows if as_utc(d["next_attempt_at"]) > now), None)
        return await self._claim(channel, candidates, later, now, lease, limit)

    async def _claim(self, channel: str, candidates: list[dict[str, Any]], later: datetime | None, now: datetime,
                     lease: float, limit: int) -> Claim:
        """Lease the candidates first in line (their tickets' lines as kept, ``lines.py``); a claim token keeps two
        replicas apart."""
        if not candidates:
            return Claim([], later, False)
        free = first_in_line(candidates, await self._in_line({c["ticket_id"] for c in candidates}))
        ids, held_back = free[:limit], len(free) < len(candidates)
        if not ids:
            return Claim([], later, held_back)
        token, lease_until = new_id(), now + timedelta(seconds=lease)
        res = await self.deliveries.update_many(
            {"_id": {"$in": ids}, "status": "pending"},
            {"$set": {"status": "sending", "lease_until": lease_until, "claim": token}, "$inc": {"attempts": 1}})
        self.written.forget(channel, ids)  # leased now, by us or (those we did not get) by another replica
        known = {c["_id"]: c for c in candidates if "address" in c}  # written by this process: whole in memory
        if res.modified_count == len(ids) and all(i in known for i in ids):  # all ours: nothing to read back
            return Claim([{**known[i], "status": "sending", "lease_until": lease_until, "claim": token,
                           "attempts": int(known[i].get("attempts") or 0) + 1} for i in ids], later, held_back)
        return Claim([d async for d in self.deliveries.find({"_id": {"$in": ids}, "claim": token})], later, held_back)

    async def _in_line(self, ticket_ids: set[str]) -> list[dict[str, Any]]:
        """The tickets' undone deliveries: those read lately as this process kept them, the others read now."""
        if stale := self.lines.unchecked(ticket_ids):
            self.lines.checked(stale, await self._undone(stale))
        return self.lines.undone(ticket_ids)

    async def _undone(self, ticket_ids: set[str]) -> list[dict[str, Any]]:
        query = {"ticket_id": {"$in": sorted(ticket_ids)}, "status": {"$in": list(UNDONE)}, "seq": {"$ne": None}}
        return [d async for d in self.deliveries.find(query, {"ticket_id": 1, "recipient": 1, "seq": 1})]

    async def release_held(self, ticket_id: str, cause_id: str, seq: int | None) -> int:
        """Deliveries held until ``cause_id`` was folded join the queue, in line at ``seq``."""
        self.lines.forget(ticket_id)
        res = await self.deliveries.update_many({"ticket_id": ticket_id, "held_for": cause_id, "status": "held"},
                                                {"$set": {"status": "pending", "seq": seq}, "$unset": {"held_for": ""}})
        self.lines.forget(ticket_id)  # they joined the line: read it again
        return res.modified_count

    async def release_stale_holds(self, before: datetime) -> int:
        """Held longer than any cause should take (it was dead-lettered, say): sent, in no particular place."""
        res = await self.deliveries.update_many({"status": "held", "created_at": {"$lt": before}},
                                                {"$set": {"status": "pending"}, "$unset": {"held_for": ""}})
        return res.modified_count

    async def release(self, ids: Sequence[str], now: datetime) -> None:
        """Claimed but never attempted (shutdown): back to the queue, the attempt not counted."""
        if ids:
            await self.deliveries.update_many({"_id": {"$in": list(ids)}, "status": "sending"},
                                              {"$set": {"status": "pending", "next_attempt_at": now},
                                               "$inc": {"attempts": -1}, "$unset": {"lease_until": ""}})

    async def give_back(self, doc_id: str, claim: str | None, now: datetime) -> bool:
        """Leased under ``claim`` but not attempted: pending again, the attempt not counted. False when the claim is
        no longer ours (its lease ran out and another worker has it): that worker's, left alone."""
        res = await self.deliveries.update_one({"_id": doc_id, "status": "sending", "claim": claim},
                                               {"$set": {"status": "pending", "next_attempt_at": now},
                                                "$inc": {"attempts": -1}, "$unset": {"lease_until": ""}})
        return res.modified_count == 1

    async def mark_sent(self, doc_id: str, now: datetime, provider_id: str | None, response: str | None) -> None:
        """Each worker waits for its own mark; the marks of workers that finish together go in one write."""
        await self._marks((doc_id, now, provider_id, response))

    async def _mark_sent(self, marks: list[tuple[str, datetime, str | None, str | None]]) -> list[None]:
        """One write for every mark waiting: marks that record the same provider id and reply share one update (an
        update per document costs twice as much), each sent at the latest of their times (milliseconds apart)."""
        same: dict[tuple[str | None, str | None], list[tuple[str, datetime]]] = {}
        for doc_id, now, provider_id, response in marks:
            same.setdefault((provider_id, response), []).append((doc_id, now))
        ops: list[UpdateOne | UpdateMany] = []
        for (provider_id, response), group in same.items():
            fields = {"status": "sent", "sent_at": max(now for _, now in group), "provider_response": response,
                      "outcome_published": False, "unpublished": True, "last_error": None}
            if provider_id is not None:  # an e-mail has none: no entry in the provider-id index either
                fields["provider_id"] = provider_id
            update = {"$set": fields, "$unset": {"lease_until": ""}}
            ids = [doc_id for doc_id, _ in group]
            ops.append(UpdateOne({"_id": ids[0], "status": "sending"}, update) if len(ids) == 1
                       else UpdateMany({"_id": {"$in": ids}, "status": "sending"}, update))
        if published := self._take_published():  # outcomes published since the last write ride along
            ops.append(UpdateMany({"_id": {"$in": published}}, PUBLISHED))
        await self.deliveries.bulk_write(ops, ordered=False)
        self.lines.finished(doc_id for doc_id, *_ in marks)
        return [None] * len(marks)

    async def reschedule(self, doc_id: str, at: datetime, error: str) -> None:
        await self.deliveries.update_one(
            {"_id": doc_id, "status": "sending"},
            {"$set": {"status": "pending", "next_attempt_at": at, "last_error": error}, "$unset": {"lease_until": ""}})

    async def mark_failed(self, doc_id: str, now: datetime, error: str, permanent: bool) -> None:
        await self.deliveries.update_one(
            {"_id": doc_id, "status": "sending"},
            {"$set": {"status": "failed", "failed_at": now, "last_error": error, "permanent": permanent,
                      "outcome_published": False, "unpublished": True}, "$unset": {"lease_until": ""}})
        self.lines.finished([doc_id])

    async def mark_all_published(self, ids: Sequence[str]) -> None:
        if ids:
            await self.deliveries.update_many({"_id": {"$in": list(ids)}}, PUBLISHED)

    def published_later(self, ids: Sequence[str]) -> None:
        """Outcomes published: marked so with the next sent mark, or on their own within ``PUBLISHED_LINGER``. Until
        then (or should the mark be lost) the sweeper may publish them again, under the same ids."""
        self._published.update(ids)
        if self._published and self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_published(PUBLISHED_LINGER_SECONDS))

    def publishing(self, doc_id: str) -> bool:
        """Published, its mark not written yet: not the sweeper's to publish."""
        return doc_id in self._published

    def _take_published(self) -> list[str]:
        taken, self._published = sorted(self._published), set()
        return taken

    async def _flush_published(self, after: float) -> None:
        try:
            await asyncio.sleep(after)
            await self.mark_all_published(self._take_published())
        except Exception:  # left flagged: the sweeper publishes them again (same ids), then marks them
            log.warning("marking outcomes published failed", exc_info=True)
        finally:
            self._flushing = None

    async def flush_published(self) -> None:
        await self._flush_published(0)

    async def unpublished(self, limit: int = 100) -> list[dict[str, Any]]:
        return [d async for d in self.deliveries.find({"unpublished": True}).limit(limit)]

    async def flag_unpublished(self) -> int:
        """Outcomes an older release left unpublished, before it marked them ``unpublished``: marked now (the
        sweeper's first round after each start: one read of the sent and failed deliveries, none left behind)."""
        res = await self.deliveries.update_many(
            {"status": {"$in": ["sent", "failed"]}, "outcome_published": False, "unpublished": {"$exists": False}},
            {"$set": {"unpublished": True}})
        return res.modified_count

    async def release_expired(self, now: datetime) -> int:
        """Deliveries whose worker died mid-send go back to the queue."""
        res = await self.deliveries.update_many({"status": "sending", "lease_until": {"$lt": now}},
                                                {"$set": {"status": "pending", "next_attempt_at": now,
                                                          "last_error": "lease expired"}})
        return res.modified_count

    async def by_provider_id(self, provider_id: str) -> dict[str, Any] | None:
        return await self.deliveries.find_one({"provider_id": provider_id})

    async def record_report(self, doc_id: str, status: str, error_code: str | None, now: datetime) -> bool:
        """Store a delivery report; True the first time this final status is seen (to publish it once)."""
        res = await self.deliveries.update_one(
            {"_id": doc_id, "delivery_status": {"$ne": status}},
            {"$set": {"delivery_status": status, "delivery_error_code": error_code, "delivery_reported_at": now}})
        return res.modified_count == 1

    async def list_deliveries(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        cursor = self.deliveries.find(query, {"html": 0}).sort("created_at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    async def get_delivery(self, doc_id: str) -> dict[str, Any] | None:
        return await self.deliveries.find_one({"_id": doc_id})

    async def requeue(self, doc_id: str, now: datetime) -> bool:
        res = await self.deliveries.update_one(
            {"_id": doc_id, "status": "failed"},
            {"$set": {"status": "pending", "next_attempt_at": now, "attempts": 0, "requeued_at": now}})
        self.lines.forget()  # a failed one is in line again
        return res.modified_count == 1

    # ---- inbox -----------------------------------------------------------------------------------

    async def inbox_for(self, user: str, unread_only: bool, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"user_id": user}
        if unread_only:
            query["read"] = False
        return [d async for d in self.inbox.find(query).sort("created_at", DESCENDING).limit(limit)]

    async def mark_read(self, user: str, item_id: str, now: datetime) -> bool:
        res = await self.inbox.update_one({"_id": item_id, "user_id": user}, {"$set": {"read": True, "read_at": now}})
        return res.matched_count == 1


class DirectoryCache:
    """Routing directories, preferences and template overrides, read at most once per ``ttl`` seconds per process:
    the consumers' partition tasks that find them stale together wait on one read (``shared.runtime.cached``)."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.db = db
        self._cached: Cached[Directories] = Cached(self._load, ttl)
        self.templates: dict[str, TemplateOverride] = {}

    async def template(self, name: str, language: str) -> TemplateOverride | None:
        await self.snapshot()
        return self.templates.get(template_key(name, language))

    async def snapshot(self) -> tuple[Staff, dict[str, NotifyPreference]]:
        staff, prefs, self.templates = await self._cached.get()
        return staff, prefs

    async def _load(self) -> Directories:
        agents = await DirectoryStore(self.db, AGENTS).list(limit=100_000)
        teams = await DirectoryStore(self.db, TEAMS).list(limit=100_000)
        groups = await DirectoryStore(self.db, GROUPS).list(limit=100_000)
        services = await DirectoryStore(self.db, SERVICES).list(limit=100_000)
        prefs = await DirectoryStore(self.db, PREFERENCES).list(limit=100_000)
        templates = await DirectoryStore(self.db, TEMPLATES).list(limit=10_000)
        staff = Staff(agents={a.id: a for a in agents}, teams={t.id: t for t in teams},
                      groups={g.id: g for g in groups}, services={s.id: s for s in services})
        return staff, {p.id: p for p in prefs}, {o.id: o for o in templates}
