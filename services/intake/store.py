"""MongoDB side of intake: the inbound log, conversation claims, contacts look-ups, attachments.

Reads the ledger's ``tickets`` collection (read-only) to thread e-mail and to check
whether a ticket can still take a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.collections import (
    INTAKE_ATTACHMENTS,
    INTAKE_CONVERSATIONS,
    INTAKE_MESSAGES,
    INTAKE_TICKET_KEYS,
    TICKETS,
)
from shared.contracts.schemas.common import Attachment, ClientRef, Sender
from shared.directory import DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES, Topic, UrgencyRule
from shared.directory.contacts import CONTACTS, CONTRACTS, ContactPerson
from shared.runtime.cached import Cached
from shared.runtime.ids import derived_id

from .identity import identities
from .senders import SenderDirectory, Wanted

MESSAGES = INTAKE_MESSAGES
CONVERSATIONS = INTAKE_CONVERSATIONS
TICKET_KEYS = INTAKE_TICKET_KEYS
BUCKET = INTAKE_ATTACHMENTS

INDEXES = {
    CONVERSATIONS: [IndexModel([("ticket_id", ASCENDING)])],
    # reclaim(): the conversations a ticket's own messages claimed (their decisions say which)
    MESSAGES: [IndexModel([("message_id", ASCENDING)]), IndexModel([("ticket_id", ASCENDING)])],
    CONTACTS.collection: [IndexModel([("emails", ASCENDING)]), IndexModel([("phones", ASCENDING)]),
                          IndexModel([("chat_ids", ASCENDING)]), IndexModel([("client_id", ASCENDING)])],
    CONTRACTS.collection: [IndexModel([("client_id", ASCENDING)])],
}
CLAIMED = "claimed"  # a decision's field: the conversation its message claimed for its ticket
# what threading needs of a ticket: may it take a message, and whose conversation is it
TICKET_FIELDS = {"status": 1, "number": 1, "closed_at": 1, "completed_at": 1, "client.client_id": 1, "sender": 1}
CLAIM_ATTEMPTS = 3



def stored(doc: Mapping[str, Any], options: CodecOptions[Any]) -> dict[str, Any]:
    """``doc`` as a read returns it (BSON round trip: datetimes to milliseconds, tz as the client's)."""
    return dict(bson.decode(bson.encode(doc, codec_options=options), codec_options=options))


def clean_at_once() -> dict[str, Any]:
    return {"status": "clean", "by": "none"}


class IntakeStore:
    def __init__(self, db: AsyncDatabase, cache_seconds: float = 5.0,
                 new_scan: Callable[[], dict[str, Any]] = clean_at_once) -> None:
        """``new_scan``: the scan state a new file starts in (``scans.py``)."""
        self.db, self.new_scan = db, new_scan
        self.messages = db[MESSAGES]
        self.conversations = db[CONVERSATIONS]
        self.ticket_keys = db[TICKET_KEYS]
        self.tickets = db[TICKETS]
        self.contacts = DirectoryStore(db, CONTACTS)
        self.senders = SenderDirectory(db, cache_seconds)
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.topics: Cached[list[Topic]] = Cached(lambda: DirectoryStore(db, TOPICS).list(), cache_seconds)
        self.urgency: Cached[list[UrgencyRule]] = Cached(lambda: DirectoryStore(db, URGENCY_RULES).list(),
                                                         cache_seconds)

    # ---- inbound log --------------------------------------------------------------------------

    async def message(self, key: str) -> dict[str, Any] | None:
        return await self.messages.find_one({"_id": key})

    async def message_by_id(self, message_id: str) -> dict[str, Any] | None:
        return await self.messages.find_one({"message_id": message_id})

    async def record_message(self, doc: dict[str, Any]) -> dict[str, Any]:
        """First writer wins: a racing duplicate gets the decision already recorded.

        An insert, and on a duplicate key a read by ``_id``: no upserting findAndModify (docs/embedded-database.md).
        """
        try:
            await self.messages.insert_one(doc)
        except DuplicateKeyError:
            found = await self.messages.find_one({"_id": doc["_id"]})
            if found is not None:
                return dict(found)
            found = await self.messages.find_one_and_update(  # gone meanwhile (nothing deletes it): as before
                {"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True, return_document=ReturnDocument.AFTER)
            assert found is not None  # upsert with AFTER always returns the document
            return dict(found)
        return stored(doc, self.messages.codec_options)

    async def reroute(self, key: str, from_ticket: str, to_ticket: str, command_id: str) -> bool:
        res = await self.messages.update_one({"_id": key, "ticket_id": from_ticket},
                                             {"$set": {"ticket_id": to_ticket, "command_id": command_id}})
        return bool(res.modified_count)

    # ---- conversation → active ticket -----------------------------------------------------------

    async def claim(self, key: str, candidate: str, *, remember: bool = True) -> tuple[str, bool]:
        """The active ticket of a conversation, claiming ``candidate`` atomically if it has none.

        The unique ``_id`` makes the insert the atomic claim (first claim wins); a conversation already
        claimed is read by ``_id``, with no upserting findAndModify (docs/embedded-database.md). ``remember``:
        note the claim in the ticket's keys; else the caller records it in the message's decision
        (``CLAIMED``), which it writes next in any case.
        """
        ticket_id = await self._claimed(key, candidate)
        fresh = ticket_id == candidate
        if fresh and remember:
            await self.ticket_keys.update_one({"_id": ticket_id}, {"$addToSet": {"keys": key}}, upsert=True)
        return ticket_id, fresh

    async def _claimed(self, key: str, candidate: str) -> str:
        for _ in range(CLAIM_ATTEMPTS):
            try:
                await self.conversations.insert_one({"_id": key, "ticket_id": candidate})
                return candidate
            except DuplicateKeyError:
                doc = await self.conversations.find_one({"_id": key})
                if doc is not None:
                    return str(doc["ticket_id"])
                # released between the insert and the read: claim again
        doc = await self.conversations.find_one_and_update(  # still racing a release: the atomic upsert
            {"_id": key}, {"$setOnInsert": {"ticket_id": candidate}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        assert doc is not None  # upsert with AFTER always returns the document
        return str(doc["ticket_id"])

    async def replace_claim(self, key: str, old: str, new: str) -> str:
        """Swap a stale claim (ticket no longer joinable) for a new ticket; a racing swap wins once.

        A conditional update_one on ``_id``, not findAndModify (docs/embedded-database.md).
        """
        res = await self.conversations.update_one({"_id": key, "ticket_id": old}, {"$set": {"ticket_id": new}})
        if res.matched_count == 0:
            return (await self.claim(key, new))[0]
        await self.ticket_keys.update_one({"_id": new}, {"$addToSet": {"keys": key}}, upsert=True)
        return new

    async def claim_if_free(self, key: str, ticket_id: str) -> None:
        try:
            res = await self.conversations.update_one({"_id": key}, {"$setOnInsert": {"ticket_id": ticket_id}},
                                                      upsert=True)
        except DuplicateKeyError:
            return
        if res.upserted_id is None:
            return
        await self.ticket_keys.update_one({"_id": ticket_id}, {"$addToSet": {"keys": key}}, upsert=True)

    async def release(self, ticket_id: str) -> None:
        await self.conversations.delete_many({"ticket_id": ticket_id})

    async def reclaim(self, ticket_id: str) -> None:
        """A reopened ticket takes its conversations back, unless they moved on to another ticket: those its keys
        note and those its messages' decisions claimed."""
        doc = await self.ticket_keys.find_one({"_id": ticket_id})
        keys = list((doc or {}).get("keys", []))
        async for m in self.messages.find({"ticket_id": ticket_id, CLAIMED: {"$exists": True}}, {CLAIMED: 1}):
            if m[CLAIMED] not in keys:
                keys.append(m[CLAIMED])
        for key in keys:
            await self.claim_if_free(key, ticket_id)

    # ---- the ledger's tickets (read only) -------------------------------------------------------

    async def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        return await self.tickets.find_one({"_id": ticket_id}, TICKET_FIELDS)

    async def ticket_by_message_ids(self, refs: list[str]) -> dict[str, Any] | None:
        if not refs:
            return None
        return await self.tickets.find_one({"email_message_ids": {"$in": refs}}, TICKET_FIELDS,
                                           sort=[("created_at", -1)])

    async def ticket_by_number(self, number: int) -> dict[str, Any] | None:
        return await self.tickets.find_one({"number": number}, TICKET_FIELDS)

    # ---- contacts ------------------------------------------------------------------------------

    async def identify(self, sender: Sender, contract_number: str | None = None) -> ClientRef | None:
        (found,) = await self.senders.identify_many([Wanted(sender, contract_number)], lookalikes=False)
        return found.client

    async def add_identity(self, client: ClientRef, sender: Sender, *, actor: str, at: datetime) -> bool:
        """Remember who wrote for a client an agent linked, so their next message identifies."""
        fields = identities(sender)
        if not fields:
            return False
        # One indexed equality per identity, not {client_id, $or: [...]} (docs/embedded-database.md).
        for f, v in fields:
            if await self.db[CONTACTS.collection].find_one({f: v, "client_id": client.client_id}, {"_id": 1}):
                return False
        contact = ContactPerson(
            id=derived_id("linked-contact", client.client_id, *(v for _, v in fields)),
            client_id=client.client_id, name=sender.name, emails=[v for f, v in fields if f == "emails"],
            phones=[v for f, v in fields if f == "phones"], chat_ids=[v for f, v in fields if f == "chat_ids"],
            contract_number=client.contract_number, source="linked")
        await self.contacts.put(contact, actor=actor, at=at)
        return True

    # ---- attachments (GridFS) ------------------------------------------------------------------

    async def save_attachment(self, file_id: str, filename: str, content_type: str, data: bytes) -> Attachment:
        """Deterministic ids: the same mail fetched twice stores its files once (and scans them once)."""
        existing = await self.attachment(file_id)
        if existing is not None:
            return existing
        try:
            await self.bucket.upload_from_stream_with_id(
                file_id, filename, data, metadata={"content_type": content_type, "scan": self.new_scan()})
        except DuplicateKeyError:
            pass
        return Attachment(id=file_id, filename=filename, content_type=content_type, size=len(data))

    async def attachment(self, file_id: str) -> Attachment | None:
        async for f in self.bucket.find({"_id": file_id}).limit(1):
            meta = f.metadata or {}
            return Attachment(id=file_id, filename=f.filename or "attachment",
                              content_type=meta.get("content_type", "application/octet-stream"), size=f.length)
        return None

    async def attachment_content(self, file_id: str) -> bytes | None:
        try:
            stream = await self.bucket.open_download_stream(file_id)
        except NoFile:
            return None
        return bytes(await stream.read())
