"""Routing's directories and intake's classification tree and urgency rules (read-only, for the lines and catalogue
services they name): all seven read in one command, once per ``ttl`` seconds for the whole process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.directory import Directory, DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES, Topic, UrgencyRule
from shared.directory.line_chain import LEGACY_CHOICE_LINES, choice_lines
from shared.directory.routing import AGENTS, GROUPS, LINES, SERVICES, TEAMS, Staff
from shared.runtime.cached import Cached

log = logging.getLogger(__name__)
READ = (AGENTS, TEAMS, GROUPS, SERVICES, LINES, TOPICS, URGENCY_RULES)
LIMIT = 100_000  # per directory
SOURCE = "_directory"  # which directory a row of the joint read came from


@dataclass(frozen=True)
class Snapshot:
    staff: Staff
    topics: list[Topic]
    urgency: list[UrgencyRule]


async def read_all(db: AsyncDatabase, directories: tuple[Directory[Any], ...] = READ) -> dict[str, list[Any]]:
    """Every entry of ``directories`` by directory name, in one aggregate (``$unionWith``) instead of one find
    each."""
    first, *rest = directories
    pipeline: list[dict[str, Any]] = [{"$limit": LIMIT}, {"$set": {SOURCE: first.name}}]
    for d in rest:
        pipeline.append({"$unionWith": {"coll": d.collection,
                                        "pipeline": [{"$limit": LIMIT}, {"$set": {SOURCE: d.name}}]}})
    stores = {d.name: DirectoryStore(db, d) for d in directories}
    out: dict[str, list[Any]] = {d.name: [] for d in directories}
    async for doc in await db[first.collection].aggregate(pipeline):
        name = doc.pop(SOURCE)
        out[name].append(stores[name]._model(doc))  # the directory's own reading of a stored entry
    return out


class StaffReader:
    """One snapshot of the seven per ``ttl`` seconds of process time, however many partition tasks ask."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.db, self.ttl = db, ttl
        self._snapshot: Cached[Snapshot] = Cached(self._read, ttl)
        self._told_legacy = False

    async def snapshot(self) -> Staff:
        return (await self._snapshot.get()).staff

    async def triage(self) -> tuple[list[Topic], list[UrgencyRule]]:
        """Intake's classification tree and urgency rules, read with the staff."""
        snapshot = await self._snapshot.get()
        return snapshot.topics, snapshot.urgency

    async def _read(self) -> Snapshot:
        found = await read_all(self.db)
        staff = Staff(**{field: {x.id: x for x in found[d.name]} for field, d in (
            ("agents", AGENTS), ("teams", TEAMS), ("groups", GROUPS), ("services", SERVICES), ("lines", LINES))})
        if not self._told_legacy and not choice_lines(staff.lines.values()):
            self._told_legacy = True
            log.warning("no line names a client choice: routing uses the legacy map %s until one does "
                        "(docs/lines.md)", dict(LEGACY_CHOICE_LINES))
        return Snapshot(staff, found[TOPICS.name], found[URGENCY_RULES.name])
