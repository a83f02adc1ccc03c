"""The search service's MongoDB: each ticket's search state, the index watermark, and what it reads of others
(the ledger's histories for rebuilds, the contacts directory's words)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.collections import HISTORY_FIELDS, SEARCH_META, SEARCH_TICKETS, TICKETS
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS

from .domain import People, SearchState

INDEXES = {SEARCH_TICKETS: [IndexModel([("written_at", ASCENDING)]), IndexModel([("client_id", ASCENDING)]),
                            IndexModel([("contact_id", ASCENDING)])]}
WATERMARK = "watermark"


class ConcurrentWrite(Exception):
    """Another consumer moved the ticket's state on first: the record is retried on the new state."""


class SearchStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.states = db[SEARCH_TICKETS]

    async def load(self, ticket_id: str) -> SearchState | None:
        doc = await self.states.find_one({"_id": ticket_id}, {"state": 1})
        return SearchState.model_validate(doc["state"]) if doc else None

    def _doc(self, state: SearchState, at: datetime) -> dict[str, Any]:
        client = state.ticket.client
        return {"_id": state.ticket.id, "version": state.version, "state": state.model_dump(mode="python"),
                "written_at": at, "client_id": client.client_id if client else None,
                "contact_id": client.contact_id if client else None}

    async def save(self, state: SearchState, before: SearchState | None, at: datetime) -> None:
        """Compare-and-set on the stored version (a conditional update by ``_id``; an insert for a new ticket)."""
        doc = self._doc(state, at)
        try:
            if before is None:
                await self.states.insert_one(doc)
                return
            res = await self.states.replace_one({"_id": doc["_id"], "version": before.version}, doc)
        except DuplicateKeyError as exc:
            raise ConcurrentWrite(state.ticket.id) from exc
        if res.matched_count != 1:
            raise ConcurrentWrite(state.ticket.id)

    async def save_newest(self, state: SearchState, at: datetime) -> SearchState:
        """A rebuilt state, unless a newer one is stored already; the one that stays."""
        doc = self._doc(state, at)
        try:
            await self.states.replace_one({"_id": doc["_id"], "version": {"$lte": state.version}}, doc, upsert=True)
            return state
        except DuplicateKeyError:  # stored and newer
            return await self.load(state.ticket.id) or state

    async def written_since(self, at: datetime | None, batch: int) -> AsyncIterator[list[SearchState]]:
        """Every state written at or after ``at`` (all of them for None), in lists of ``batch``."""
        cursor = self.states.find({"written_at": {"$gte": at}} if at else {}, {"state": 1}).batch_size(batch)
        page: list[SearchState] = []
        async for doc in cursor:
            page.append(SearchState.model_validate(doc["state"]))
            if len(page) >= batch:
                yield page
                page = []
        if page:
            yield page

    async def of(self, field: str, value: str) -> list[SearchState]:
        """States of one client (``client_id``) or contact (``contact_id``): an indexed equality."""
        return [SearchState.model_validate(d["state"]) async for d in self.states.find({field: value}, {"state": 1})]

    async def watermark(self) -> datetime | None:
        doc = await self.db[SEARCH_META].find_one({"_id": WATERMARK})
        return doc["at"] if doc else None

    async def set_watermark(self, at: datetime) -> None:
        await self.db[SEARCH_META].replace_one({"_id": WATERMARK}, {"_id": WATERMARK, "at": at}, upsert=True)

    # ---- the ledger's histories (read-only) ----

    async def history(self, ticket_id: str) -> list[dict[str, Any]]:
        doc = await self.db[TICKETS].find_one({"_id": ticket_id}, dict.fromkeys(HISTORY_FIELDS, 1))
        return list(doc.get("history") or []) if doc else []

    async def histories(self, batch: int = 200) -> AsyncIterator[list[dict[str, Any]]]:
        async for doc in self.db[TICKETS].find({}, dict.fromkeys(HISTORY_FIELDS, 1)).batch_size(batch):
            yield list(doc.get("history") or [])


class PeopleReader:
    """The contacts directory's words for a client and its contact, cached for ``ttl`` seconds; entries changed
    since the last look are reported (the directory publishes no change events: it is polled by ``_updated_at``)."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.clients, self.contacts = DirectoryStore(db, CLIENTS), DirectoryStore(db, CONTACTS)
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, People]] = {}

    async def people(self, client_id: str | None, contact_id: str | None) -> People:
        key = (client_id or "", contact_id or "")
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        found = People()
        client = await self.clients.get(client_id) if client_id else None
        if client is not None:
            found.names.append(client.name)
        contact = await self.contacts.get(contact_id) if contact_id else None
        if contact is not None and contact.client_id == client_id:
            found.names += [contact.name] if contact.name else []
            found.emails, found.phones = list(contact.emails), list(contact.phones)
            found.contracts += [contact.contract_number] if contact.contract_number else []
        self._cache[key] = (time.monotonic(), found)
        return found

    async def changed_since(self, at: datetime) -> tuple[list[str], list[str]]:
        """Clients and contacts written at or after ``at``; their cached words are dropped."""
        clients = [c.id for c in await self.clients.list({"_updated_at": {"$gte": at}}, limit=10_000)]
        contacts = [c.id for c in await self.contacts.list({"_updated_at": {"$gte": at}}, limit=10_000)]
        self._cache = {k: v for k, v in self._cache.items() if k[0] not in clients and k[1] not in contacts}
        return clients, contacts
