"""MongoDB adapter: routing's ticket projection (its directories are read in ``directories.py``)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contracts.collections import ROUTING_TICKETS, ROUTING_TIMERS
from shared.contracts.schemas.common import WORKING_STATUSES
from shared.runtime.mongo import duplicates_only

from .projection import TicketView

log = logging.getLogger(__name__)

PROJECTION = ROUTING_TICKETS
TIMERS = ROUTING_TIMERS

INDEXES = {
    # loads(): status equality, then the agents as a trailing $in -- bounded by the working tickets of those agents
    PROJECTION: [IndexModel([("status", ASCENDING), ("assignee_id", ASCENDING)])],
}




class ConcurrentUpdate(Exception):
    """Another writer moved the view on (a rebalance overlap); the consumer retries with a fresh read."""


class ProjectionStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.col = db[PROJECTION]

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]:
        return (await self.get_many([ticket_id]))[ticket_id]

    async def get_many(self, ticket_ids: Iterable[str], opening: Collection[str] = (),
                       ) -> dict[str, tuple[TicketView | None, int]]:
        """Each ticket's view and version ((None, 0): none yet) in one read: ``_id`` $in is a key lookup.
        ``opening``: tickets taken to have none, unread (``handlers.RoutingHandler.handle_batch`` says when)."""
        out: dict[str, tuple[TicketView | None, int]] = dict.fromkeys(ticket_ids, (None, 0))
        ids = sorted(set(out) - set(opening))
        if ids:
            async for doc in self.col.find({"_id": ids[0]} if len(ids) == 1 else {"_id": {"$in": ids}}):
                out[doc["_id"]] = TicketView.from_doc(doc), int(doc.get("_v", 0))
        return out

    async def save(self, view: TicketView, version: int) -> None:
        await self.save_many([(view, version)])

    async def save_many(self, saves: Sequence[tuple[TicketView, int]]) -> None:
        """Compare-and-set on ``_v`` in one write: one writer per ticket wins. Refused when any ticket's view moved
        on under us (the others may have landed): the caller reads again."""
        ops: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
        for view, version in saves:
            doc = {**view.to_doc(), "_v": version + 1}
            ops.append(InsertOne(doc) if version == 0 else ReplaceOne({"_id": view.id, "_v": version}, doc))
        if not ops:
            return
        try:
            res = await self.col.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            duplicates_only(exc)
            # an insert found a view there: another writer made it, or it was a redelivered opening's
            raise ConcurrentUpdate(", ".join(v.id for v, _ in saves)) from exc
        if res.matched_count != sum(version != 0 for _, version in saves):
            raise ConcurrentUpdate(", ".join(v.id for v, _ in saves))

    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]:
        """Active (assigned, in progress, waiting) tickets per agent, for least-loaded choices."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        out = dict.fromkeys(ids, 0)
        # One query per working status, the agents as the trailing $in of the (status, assignee_id) index:
        # never two $in, which the embedded database answers by reading every ticket of those agents
        # (docs/embedded-database.md).
        for status in sorted(s.value for s in WORKING_STATUSES):
            pipeline: list[dict[str, Any]] = [
                {"$match": {"status": status, "assignee_id": {"$in": ids}}},
                {"$group": {"_id": "$assignee_id", "n": {"$sum": 1}}},
            ]
            async for row in await self.col.aggregate(pipeline):
                out[row["_id"]] += int(row["n"])
        return out
