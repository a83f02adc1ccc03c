"""MongoDB adapters: routing's ticket projection and briefly cached directory snapshots (one per process).

Besides its own directories routing reads intake's classification tree and urgency rules
(read-only) for the lines and catalogue services they name.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contracts.collections import ROUTING_TICKETS, ROUTING_TIMERS
from shared.contracts.schemas.common import WORKING_STATUSES
from shared.directory import DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES, Topic, UrgencyRule
from shared.directory.line_chain import LEGACY_CHOICE_LINES, choice_lines
from shared.directory.routing import AGENTS, GROUPS, LINES, SERVICES, TEAMS, Staff
from shared.runtime.cached import Cached
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


class StaffReader:
    """Reads the routing directories; one snapshot per ``ttl`` seconds of process time for the whole process."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.ttl = ttl
        self.agents, self.teams = DirectoryStore(db, AGENTS), DirectoryStore(db, TEAMS)
        self.groups, self.services, self.lines = (DirectoryStore(db, GROUPS), DirectoryStore(db, SERVICES),
                                                  DirectoryStore(db, LINES))
        self.topics, self.urgency = DirectoryStore(db, TOPICS), DirectoryStore(db, URGENCY_RULES)
        self._staff: Cached[Staff] = Cached(self._read_staff, ttl)
        self._triage: Cached[tuple[list[Topic], list[UrgencyRule]]] = Cached(self._read_triage, ttl)
        self._told_legacy = False

    async def snapshot(self) -> Staff:
        return await self._staff.get()

    async def triage(self) -> tuple[list[Topic], list[UrgencyRule]]:
        """Intake's classification tree and urgency rules, cached like the snapshot."""
        return await self._triage.get()

    async def _read_staff(self) -> Staff:
        limit = 100_000
        staff = Staff(
            agents={a.id: a for a in await self.agents.list(limit=limit)},
            teams={x.id: x for x in await self.teams.list(limit=limit)},
            groups={g.id: g for g in await self.groups.list(limit=limit)},
            services={s.id: s for s in await self.services.list(limit=limit)},
            lines={ln.id: ln for ln in await self.lines.list(limit=limit)},
        )
        if not self._told_legacy and not choice_lines(staff.lines.values()):
            self._told_legacy = True
            log.warning("no line names a client choice: routing uses the legacy map %s until one does "
                        "(docs/lines.md)", dict(LEGACY_CHOICE_LINES))
        return staff

    async def _read_triage(self) -> tuple[list[Topic], list[UrgencyRule]]:
        limit = 100_000
        return await self.topics.list(limit=limit), await self.urgency.list(limit=limit)
