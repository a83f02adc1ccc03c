"""Notify's ticket views in MongoDB (``notify_tickets``): read and written in one command per group of callers
(``coalesce.py``), each write guarded by the view's position as stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from shared.runtime.mongo import duplicates_only

from .coalesce import Coalescer
from .projection import TicketView, from_doc, to_doc

ABSENT = object()  # the guard of a view not stored yet: it is inserted, and refused if it is there after all


class StoredViews:
    """``NotifyStore``'s views (a part of it: the collections and coalescers are set up by its ``__init__``)."""

    tickets: Any
    deliveries: Any
    _views: Coalescer[str, tuple[TicketView | None, Any]]
    _saves: Coalescer[tuple[dict[str, Any], Any], bool]

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
