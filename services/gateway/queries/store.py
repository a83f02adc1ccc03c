"""MongoDB reads (the ledger's tickets, other services' published read models) and the gateway's own writes.

The gateway writes only its API keys, directory entries (through DirectoryStore), agent availability and its
copy of the tickets (views.py); ticket state is the ledger's alone.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.contracts.collections import (
    GATEWAY_API_KEYS,
    GATEWAY_MACRO_USES,
    GATEWAY_MACROS,
    LEDGER_COMMANDS,
    SLA_CLOCKS,
    TICKET_VIEWS,
    TICKETS,
)
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, TEAMS, Agent, Line, ServiceTeam
from shared.runtime.mongo import database, mongo_client

from ..access.staff_directory import StaffDirectory
from ..settings import GatewaySettings
from .keys import KEYS_FIELD, hint_key, split_key
from .views import NO_HISTORY, TicketViews
from .windows import SAMPLE, Sketch

ONLY_HISTORY = {"history": 1}

log = logging.getLogger(__name__)


def _flagged(field: str) -> IndexModel:
    # Not partial: the embedded database would scan for {flag: true, status: s} (docs/embedded-database.md).
    return IndexModel([(field, ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)])


# The work queues' query shapes (see queues.py and plan.py): each branch is equalities on a queue field and
# one status, then one range (the sort key's cursor bound, or the queue's own range). They live on the gateway's
# copy of the tickets (views.py), never on the ledger's collection; created at start, one at a time.
TICKET_INDEXES = [
    IndexModel([("offered_to", ASCENDING), ("status", ASCENDING), ("updated_at", ASCENDING)]),
    IndexModel([("assignee_id", ASCENDING), ("status", ASCENDING), ("updated_at", DESCENDING)]),
    IndexModel([("status", ASCENDING), ("last_message_from", ASCENDING), ("last_client_message_at", ASCENDING)]),
    IndexModel([("status", ASCENDING), ("deadline", ASCENDING)]),
    _flagged("flags.sla_breached"),
    _flagged("flags.sla_at_risk"),
    _flagged("flags.long_ignored"),
    _flagged("flags.lost"),
    _flagged("unidentified"),
    IndexModel([("line", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)]),
    IndexModel([("status", ASCENDING), ("parent_id", ASCENDING)]),
    # a specialist's scope branches lead with the scope's field (participants, team, client)
    IndexModel([("participants.user_id", ASCENDING), ("status", ASCENDING)]),
    IndexModel([("service_team_id", ASCENDING), ("status", ASCENDING)]),
    IndexModel([("client.client_id", ASCENDING), ("status", ASCENDING)]),
    # the ticket list and reports: newest first, by status and last change, a parent's sub-tickets
    IndexModel([("created_at", DESCENDING)]),
    IndexModel([("status", ASCENDING), ("updated_at", DESCENDING)]),
    IndexModel([("parent_id", ASCENDING)]),
    # the queues' windows (keys.py, windows.py): one range of this array per branch and window
    IndexModel([(KEYS_FIELD, ASCENDING)]),
]

INDEXES = {GATEWAY_API_KEYS: [IndexModel([("name", ASCENDING)])], TICKET_VIEWS: TICKET_INDEXES,
           # the macro picker (shared ones and the user's own) and the macros report's period
           GATEWAY_MACROS: [IndexModel([("scope", ASCENDING), ("owner_id", ASCENDING)])],
           GATEWAY_MACRO_USES: [IndexModel([("at", ASCENDING)])]}


class TicketFind:
    """Tickets without their history (or only ``projection``'s fields); ``limit`` None for all that match.

    Carries the sketch that sizes the queues' windows (plan.py reads a queue's branches by windows with it).
    """

    def __init__(self, tickets: AsyncCollection[dict[str, Any]]) -> None:
        self.tickets = tickets
        self.sketch = Sketch()

    async def __call__(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int | None,
                       projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
        cursor = self.tickets.find(query, projection).sort(sort).limit(limit or 0)
        return [d async for d in cursor]

    async def warm(self) -> None:
        """Seed the sketch from every copy's queue keys, so a queue's first page after a start reads about a page
        (unseeded, a branch's first window is all of it)."""
        seen: dict[str, int] = {}
        samples: dict[str, list[str]] = {}
        async for doc in self.tickets.find({KEYS_FIELD: {"$gte": ""}}, {KEYS_FIELD: 1}).batch_size(1000):
            for stored in doc.get(KEYS_FIELD) or []:
                if (parts := split_key(stored)) is None:
                    continue
                key = hint_key(parts[0], parts[1])
                seen[key] = n = seen.get(key, 0) + 1
                if n % SAMPLE == SAMPLE // 2:
                    samples.setdefault(key, []).append(parts[2])
        for key, tokens in samples.items():
            self.sketch.seed(key, tokens)


class Reads:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.tickets = self.db[TICKET_VIEWS]  # what lists, counts and reports query
        self.ledger = self.db[TICKETS]  # one ticket by id, current to the ledger's last write, with its history
        self.views = TicketViews(self.db, self._after_catch_up)
        self.find = TicketFind(self.tickets)
        self._deferred: list[IndexModel] = []
        self.agents = DirectoryStore(self.db, AGENTS)
        self.teams = DirectoryStore(self.db, TEAMS)
        self.lines = DirectoryStore(self.db, LINES)
        self.staff = StaffDirectory(self.agent, self.member_of, self.team_agent_ids, settings.directory_cache_seconds)

    async def start(self) -> None:
        await self.client.admin.command("ping")
        # An empty copy is about to be filled by the catch-up: its indexes are built after that, not rewritten on
        # each insert (docs/embedded-database.md).
        if await self.tickets.find_one({}, {"_id": 1}) is None:
            self._deferred = TICKET_INDEXES
        for coll, models in INDEXES.items():
            if coll != TICKET_VIEWS or not self._deferred:
                await self._create(coll, models)

    async def _after_catch_up(self) -> None:
        deferred, self._deferred = self._deferred, []
        await self._create(TICKET_VIEWS, deferred)
        try:
            await self.find.warm()
        except PyMongoError as exc:  # the windows stay correct unseeded, a queue's first page only slower
            log.warning("could not seed the queue windows: %r", exc)

    async def _create(self, coll: str, models: list[IndexModel]) -> None:
        # One by one: big batches dropped the embedded database's connection (docs/embedded-database.md).
        for model in models:
            try:
                await self.db[coll].create_indexes([model])
            except PyMongoError as exc:  # queries stay correct without it, only slower
                log.warning("could not create index %s on %s: %r", model.document.get("name"), coll, exc)

    async def stop(self) -> None:
        await self.client.close()

    async def ticket(self, ticket_id: str, history: bool = False) -> dict[str, Any] | None:
        projection = {"processed_commands": 0} if history else NO_HISTORY
        return await self.ledger.find_one({"_id": ticket_id}, projection)

    async def noop_commands(self, command_ids: list[str]) -> set[str]:
        """Commands the ledger recorded as producing nothing (``ledger_commands`` with no events)."""
        cursor = self.db[LEDGER_COMMANDS].find({"_id": {"$in": command_ids}, "events": []}, {"_id": 1})
        return {d["_id"] async for d in cursor}

    async def sla_clock(self, ticket_id: str) -> dict[str, Any] | None:
        return await self.db[SLA_CLOCKS].find_one({"_id": ticket_id})

    async def agent(self, agent_id: str) -> Agent | None:
        return await self.agents.get(agent_id)

    async def member_of(self, agent_id: str) -> list[str]:
        """Teams whose directory entry lists this agent (routing offers them their tickets: team_member_ids)."""
        return sorted(team.id for team in await self.teams.list({"members.agent_id": agent_id}, limit=1000))

    async def team_agent_ids(self, team_ids: list[str]) -> list[str]:
        """Members of these service teams: by the team directory and by the agents' own team lists."""
        if not team_ids:
            return []
        ids: set[str] = set()
        for team in await self.teams.list({"_id": {"$in": team_ids}}, limit=len(team_ids)):
            ids.update(m.agent_id for m in team.members)
        for agent in await self.agents.list({"team_ids": {"$in": team_ids}}, limit=5000):
            ids.add(agent.id)
        return sorted(ids)

    async def list_agents(self, ids: list[str] | None, limit: int) -> list[Agent]:
        query = {"_id": {"$in": ids}} if ids is not None else {}
        return await self.agents.list(query, limit=limit)

    async def all_lines(self) -> list[Line]:
        return await self.lines.list(limit=1000)

    async def team(self, team_id: str) -> ServiceTeam | None:
        return await self.teams.get(team_id)

    async def api_key(self, key_hash: str) -> dict[str, Any] | None:
        return await self.db[GATEWAY_API_KEYS].find_one({"_id": key_hash})

    async def save_api_key(self, doc: dict[str, Any]) -> None:
        await self.db[GATEWAY_API_KEYS].insert_one(doc)

    async def list_api_keys(self, limit: int) -> list[dict[str, Any]]:
        return [d async for d in self.db[GATEWAY_API_KEYS].find({}, {"_id": 0}).sort("created_at", -1).limit(limit)]

    async def revoke_api_key(self, key_id: str) -> bool:
        res = await self.db[GATEWAY_API_KEYS].update_one({"key_id": key_id, "revoked": {"$ne": True}},
                                                 {"$set": {"revoked": True}})
        return bool(res.modified_count)
