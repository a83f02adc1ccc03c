"""The gateway's copy of every ticket without its history: what queues, counts, boards and reports query.

The ledger's ``tickets`` collection keeps only the indexes its own writes need; the gateway's read indexes live
on this copy, so a ledger update does not rewrite them and a queue does not decode histories
(docs/performance.md). The event hub copies the tickets each fetched batch of ``tickets.events`` touched before
it answers the actions waiting on them, so a user reads his own writes; at start, ``catch_up`` copies whatever
changed while no gateway ran, and recomputes the queue keys (keys.py) of copies an older build shaped otherwise.
Every copy is guarded by the ticket's version, so replicas and retries never move a copy backwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contracts.collections import TICKET_VIEWS, TICKETS
from shared.runtime.mongo import duplicates_only

from .keys import SHAPE_FIELD, SHAPE_VERSION, shaped

# What the copy leaves out: the history grows without bound, the command window is the ledger's own bookkeeping.
NO_HISTORY = {"history": 0, "processed_commands": 0}
PAGE = 500


class TicketViews:
    def __init__(self, db: AsyncDatabase[dict[str, Any]],
                 after_catch_up: Callable[[], Awaitable[None]] | None = None) -> None:
        self.ledger = db[TICKETS]
        self.views = db[TICKET_VIEWS]
        self.after_catch_up = after_catch_up  # e.g. build what waited for the first copy

    async def copy(self, ticket_ids: Iterable[str], reshape: bool = False, missing: bool = False) -> int:
        """Copy these tickets' current state; returns how many the ledger had."""
        return len(await self.copy_read(ticket_ids, reshape, missing))

    async def copy_read(self, ticket_ids: Iterable[str], reshape: bool = False,
                        missing: bool = False) -> list[dict[str, Any]]:
        """Copy these tickets' current state; returns what the ledger had (without history), as read.

        ``reshape``: also rewrite a copy of the same version (its queue keys were computed by an older shape).
        ``missing``: these have no copy yet, so they are inserted in bulk (a third of an upsert's cost on the
        embedded database); one that a concurrent copy inserted first hits the duplicate key and is left to it.
        """
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return []
        docs = [d async for d in self.ledger.find({"_id": {"$in": ids}}, NO_HISTORY)]
        if missing and docs:
            await self._tolerate_duplicates(self.views.insert_many([shaped(d) for d in docs], ordered=False))
        else:
            await self._write(docs, "$lte" if reshape else "$lt")
        return docs

    async def catch_up(self) -> int:
        """Copy every ticket whose copy is missing or older, a page at a time; returns how many."""
        copied, page = 0, []
        # One streamed read: a page by ``_id > last`` with a limit would read every later ticket per page here
        # (docs/embedded-database.md).
        async for doc in self.ledger.find({}, {"version": 1}).batch_size(PAGE):
            page.append(doc)
            if len(page) == PAGE:
                copied += await self._copy_stale(page)
                page = []
        copied += await self._copy_stale(page)
        if self.after_catch_up is not None:
            await self.after_catch_up()
        return copied

    async def _copy_stale(self, page: list[dict[str, Any]]) -> int:
        if not page:
            return 0
        held = {d["_id"]: d async for d in self.views.find({"_id": {"$in": [d["_id"] for d in page]}},
                                                          {"version": 1, SHAPE_FIELD: 1})}
        missing = [d["_id"] for d in page if d["_id"] not in held]
        older = [d["_id"] for d in page if d["_id"] in held and held[d["_id"]].get("version", -1) < d.get("version", 0)]
        reshaped = [i for i, d in held.items() if d.get(SHAPE_FIELD) != SHAPE_VERSION and i not in older]
        return (await self.copy(missing, missing=True) + await self.copy(older)
                + await self.copy(reshaped, reshape=True))

    async def _write(self, docs: list[dict[str, Any]], newer: str = "$lt") -> None:
        if not docs:
            return
        # Replaces an older copy (``$lte``: or one of the same version); where the copy is newer the filter
        # misses and the upsert's insert hits the duplicate key, which is the no-op we want.
        ops = [ReplaceOne({"_id": d["_id"], "version": {newer: d.get("version", 0)}}, shaped(d), upsert=True)
               for d in docs]
        await self._tolerate_duplicates(self.views.bulk_write(ops, ordered=False))

    @staticmethod
    async def _tolerate_duplicates(write: Awaitable[Any]) -> None:
        try:
            await write
        except BulkWriteError as exc:
            duplicates_only(exc)
