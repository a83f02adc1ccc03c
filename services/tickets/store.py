"""The ledger's MongoDB adapter (``LedgerStorage`` in handlers.py): tickets with their history, rejected commands,
ticket numbers."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.contracts.collections import COUNTERS, LEDGER_COMMANDS, TICKETS
from shared.contracts.envelope import Envelope
from shared.contracts.ticket import Ticket
from shared.runtime.mongo import duplicates_only

from .batch import Loaded, TicketWrite
from .handlers import PROCESSED_KEEP, ConcurrentWrite

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
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.tickets = db[TICKETS]
        self.commands = db[LEDGER_COMMANDS]
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
        if recorded:
            try:
                await self.commands.insert_many([_command_doc(c, events) for c, events in recorded], ordered=False)
            except BulkWriteError as exc:
                duplicates_only(exc)
        if not writes:
            return
        try:
            result = await self.tickets.bulk_write([_write_op(w) for w in writes], ordered=False)
        except BulkWriteError as exc:
            raise ConcurrentWrite(f"a batch of {len(writes)} tickets met another writer") from exc
        if result.inserted_count + result.matched_count != len(writes):
            raise ConcurrentWrite(f"{len(writes) - result.matched_count - result.inserted_count} tickets moved on")

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
        history = [e.model_dump(mode="json") for e in events]
        if before is None:
            doc = after.to_doc()
            doc["history"] = history
            doc[PROCESSED] = [command_id]
            try:
                await self.tickets.insert_one(doc)
            except DuplicateKeyError as exc:
                raise ConcurrentWrite(f"ticket {after.id} created concurrently") from exc
            return
        result = await self.tickets.update_one(
            {"_id": after.id, "version": before.version},
            {"$set": changed(before, after), "$push": {"history": {"$each": history},
                                      PROCESSED: {"$each": [command_id], "$slice": -PROCESSED_KEEP}}},
        )
        if result.matched_count != 1:
            raise ConcurrentWrite(f"ticket {after.id} moved past version {before.version}")

    async def mark_processed(self, ticket_id: str, command_id: str) -> None:
        await self.tickets.update_one({"_id": ticket_id},
                                      {"$push": {PROCESSED: {"$each": [command_id], "$slice": -PROCESSED_KEEP}}})

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None:
        try:
            await self.commands.insert_one(_command_doc(command, events))
        except DuplicateKeyError:
            pass


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
