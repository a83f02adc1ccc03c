"""Notify's MongoDB collections: the ticket projection, the delivery queue, the in-app inbox.

``notify_deliveries`` is both the idempotency record (``_id`` = notification id) and the durable
queue: pending documents survive a restart, and workers claim them with a lease so a worker
that dies mid-send leaves its delivery to be retried, not lost. ``NotifyStore`` is put together from its parts by
concept: views (``stored_views.py``), claims (``claims.py``), outcome marks (``marks.py``); the inserts are here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contracts.collections import NOTIFY_DELIVERIES, NOTIFY_INBOX, NOTIFY_TICKETS
from shared.runtime.ids import new_id
from shared.runtime.mongo import duplicates_only

from .claims import Claim, Claims
from .coalesce import Coalescer
from .direct import Workers, lease_first_in_line, wanted
from .directories import Directories, DirectoryCache
from .lines import Lines
from .marks import PUBLISHED, PUBLISHED_LINGER_SECONDS, Marks
from .projection import TicketView
from .stored_views import ABSENT, StoredViews
from .written import Written

__all__ = ["ABSENT", "DELIVERIES", "INBOX", "INDEXES", "PUBLISHED", "PUBLISHED_LINGER_SECONDS", "TICKETS", "Claim",
           "DirectoryCache", "Directories", "NotifyStore", "insert_new"]

log = logging.getLogger(__name__)
TICKETS = NOTIFY_TICKETS
DELIVERIES = NOTIFY_DELIVERIES
INBOX = NOTIFY_INBOX
MAX_INSERTED = 20_000
# Views and deliveries written by records of other tickets arriving within this long go in one command (``coalesce``).
WRITE_LINGER_SECONDS = 0.015

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


class NotifyStore(StoredViews, Claims, Marks):
    """The consumers' reads and writes of views and deliveries are coalesced across partitions (``coalesce.py``)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.tickets, self.deliveries, self.inbox = db[TICKETS], db[DELIVERIES], db[INBOX]
        self._views: Coalescer[str, tuple[TicketView | None, Any]] = Coalescer(self._read_views)
        self._saves: Coalescer[tuple[dict[str, Any], Any], bool] = Coalescer(self._write_views, WRITE_LINGER_SECONDS)
        self._adds: Coalescer[Sequence[dict[str, Any]], int] = Coalescer(self._add_deliveries, WRITE_LINGER_SECONDS)
        self._marks: Coalescer[tuple[str, datetime, str | None, str | None], None] = Coalescer(self._mark_sent)
        self.written = Written()
        self.lines = Lines()  # the undone deliveries of the tickets it inserts for, kept after one read
        self._inserted: OrderedDict[str, None] = OrderedDict()  # ids of the deliveries it inserted lately
        self._published: set[str] = set()  # outcomes published whose mark waits for the next write (published_later)
        self._flushing: asyncio.Task[None] | None = None
        self.workers: Workers | None = None  # set by the dispatcher: deliveries may be inserted leased to it
        self._searched: dict[str, float] = {}  # channel -> when its queue was last searched (monotonic)

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

    # ---- inbox -----------------------------------------------------------------------------------

    async def inbox_for(self, user: str, unread_only: bool, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"user_id": user}
        if unread_only:
            query["read"] = False
        return [d async for d in self.inbox.find(query).sort("created_at", DESCENDING).limit(limit)]

    async def mark_read(self, user: str, item_id: str, now: datetime) -> bool:
        res = await self.inbox.update_one({"_id": item_id, "user_id": user}, {"$set": {"read": True, "read_at": now}})
        return res.matched_count == 1
