"""The ledger's MongoDB adapter (``LedgerStorage`` in handlers.py): tickets with their history, rejected commands,
ticket numbers."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import COUNTERS, LEDGER_COMMANDS, TICKETS
from shared.contracts.envelope import Envelope
from shared.contracts.ticket import Ticket

from .batch import Loaded, TicketWrite
from .group_commit import GroupCommit
from .handlers import PROCESSED_KEEP

# Only what a write or a lookup by key needs: on the embedded database every index is rewritten on every update
# of a ticket. The queues and reports read the gateway's own copy of the tickets and its indexes
# (services/gateway/queries/views.py); any other index found on the ledger's collections is dropped at start.
INDEXES = {
    TICKETS: [
        IndexModel([("number", ASCENDING)], unique=True),  # one ticket per number; intake finds one by its number
        IndexModel([("email_message_ids", ASCENDING)]),  # intake threads a reply to its ticket
    ],
    LEDGER_COMMANDS: [IndexModel([("ticket_id", ASCENDING)])],
}

# Fields left out when reading a ticket for a decision or a list: the history grows without bound.
NO_HISTORY = {"history": 0}
# The recent command ids kept on the ticket (``PROCESSED_KEEP`` of them).
PROCESSED = "processed_commands"
NUMBER_BLOCK = 20


def changed(before: Ticket, after: Ticket) -> dict[str, Any]:
    """The fields to write: those that differ, and those the stored document lacked (``before`` took their default
    when read). Writing every field made the database rewrite each index entry on every command."""
    old, new = before.to_doc(), after.to_doc()
    stored = before.model_fields_set
    return {k: v for k, v in new.items() if k != "_id" and (k not in stored or old[k] != v)}


class LedgerStore:
    def __init__(self, db: AsyncDatabase, group_window: float = 0.0) -> None:
        self.db = db
        self.tickets = db[TICKETS]
        self.commands = db[LEDGER_COMMANDS]
        self.group = GroupCommit(self.tickets, self.commands, group_window)  # every partition task's writes
        self._numbers: list[int] = []
        self._reserving = asyncio.Lock()  # partition tasks that find the block spent wait on one reservation

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]:
        """The ticket and the ids of the commands it has recently processed (one round trip)."""
        doc = await self.tickets.find_one({"_id": ticket_id}, NO_HISTORY)
        if doc is None:
            return None, set()
        return Ticket.from_doc(doc), set(doc.get(PROCESSED, ()))

    async def load_many(self, ticket_ids: set[str]) -> dict[str, Loaded]:
        """Each ticket with its recent command ids, in one read; a missing ticket as (None, empty)."""
        found: dict[str, Loaded] = {tid: (None, set()) for tid in ticket_ids}
        async for doc in self.tickets.find({"_id": {"$in": sorted(ticket_ids)}}, NO_HISTORY):
            found[doc["_id"]] = Ticket.from_doc(doc), set(doc.get(PROCESSED, ()))
        return found

    async def save_batch(self, writes: list[TicketWrite], recorded: list[tuple[Envelope, list[Envelope]]]) -> None:
        """Refusals first (a ticket's processed list may name them only once they are kept), then one write per
        ticket, each guarded by the version the batch read; any write refused fails the batch."""
        await self.group.write([_command_doc(c, events) for c, events in recorded], [_write_op(w) for w in writes],
                               alone=len(writes) + len(recorded) > 1)

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None:
        """Events a command already produced, or None if it was never processed."""
        doc = await self.commands.find_one({"_id": command_id})
        if doc is not None:
            return list(doc["events"])
        pipeline: list[dict[str, Any]] = [
            {"$match": {"_id": ticket_id}},
            {"$project": {"history": {"$filter": {"input": "$history", "as": "e",
                                                   "cond": {"$eq": ["$$e.causation_id", command_id]}}}}},
        ]
        async for row in await self.tickets.aggregate(pipeline):
            if row.get("history"):
                return list(row["history"])
        return None

    async def next_number(self) -> int:
        """Ticket numbers are reserved in blocks: one counter write per block, gaps after a restart."""
        async with self._reserving:
            return await self._next_number()

    async def _next_number(self) -> int:
        if not self._numbers:
            doc = await self.db[COUNTERS].find_one_and_update(
                {"_id": "ticket_number"}, {"$inc": {"seq": NUMBER_BLOCK}}, upsert=True,
                return_document=ReturnDocument.AFTER)
            assert doc is not None  # upserted
            top = int(doc["seq"])
            self._numbers = list(range(top - NUMBER_BLOCK + 1, top + 1))
        return self._numbers.pop(0)

    async def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None:
        await self.group.write([], [_write_op(TicketWrite(before, after, events, [command_id]))])

    async def mark_processed(self, ticket_id: str, command_id: str) -> None:
        push = {PROCESSED: {"$each": [command_id], "$slice": -PROCESSED_KEEP}}
        await self.group.write([], [UpdateOne({"_id": ticket_id}, {"$push": push})])

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None:
        await self.group.write([_command_doc(command, events)], [])


def _command_doc(command: Envelope, events: list[Envelope]) -> dict[str, Any]:
    return {"_id": command.id, "ticket_id": command.ticket_id, "type": command.type, "at": command.occurred_at,
            "events": [e.model_dump(mode="json") for e in events]}


def _write_op(write: TicketWrite) -> InsertOne[Any] | UpdateOne:
    history = [e.model_dump(mode="json") for e in write.events]
    if write.before is None:
        return InsertOne({**write.after.to_doc(), "history": history, PROCESSED: write.command_ids[-PROCESSED_KEEP:]})
    update: dict[str, Any] = {"$push": {PROCESSED: {"$each": write.command_ids, "$slice": -PROCESSED_KEEP}}}
    if history:
        update["$push"]["history"] = {"$each": history}
    if fields := changed(write.before, write.after):
        update["$set"] = fields
    return UpdateOne({"_id": write.after.id, "version": write.before.version}, update)
