"""``inbound.messages`` → conversation → ``ReceiveMessage`` for the ledger.

The conversation → active ticket mapping is claimed atomically in MongoDB, so two
messages of one conversation racing through two intake pods land on one ticket.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock
from shared.envelope import Envelope, Message, envelope_for
from shared.ids import new_id
from shared.kafka import KafkaBus
from shared.schemas import tickets as t
from shared.schemas.common import ACTIVE_STATUSES
from shared.schemas.inbound import InboundMessage
from shared.topics import TICKETS_COMMANDS

from .domain import conversation_key, message_id, to_command

MESSAGES = "intake_messages"
CONVERSATIONS = "intake_conversations"
INDEXES = {CONVERSATIONS: [IndexModel([("ticket_id", ASCENDING)])]}
CLOSING = (t.TicketResolved, t.TicketCompleted, t.TicketClosed)


class InboundHandler:
    def __init__(self, db: AsyncDatabase, bus: KafkaBus, clock: Clock) -> None:
        self.db, self.bus, self.clock = db, bus, clock

    async def __call__(self, msg: InboundMessage) -> None:
        mid = message_id(msg)
        seen = await self.db[MESSAGES].find_one({"_id": mid})
        if seen is None:
            if msg.auto_submitted:
                await self.db[MESSAGES].insert_one({"_id": mid, "ignored": "auto_submitted"})
                return
            conv = await self.db[CONVERSATIONS].find_one_and_update(
                {"_id": conversation_key(msg)}, {"$setOnInsert": {"ticket_id": new_id()}},
                upsert=True, return_document=ReturnDocument.AFTER)
            seen = {"_id": mid, "ticket_id": conv["ticket_id"]}
            await self.db[MESSAGES].update_one({"_id": mid}, {"$setOnInsert": seen}, upsert=True)
            seen = await self.db[MESSAGES].find_one({"_id": mid})
        if seen is None or seen.get("ignored"):
            return
        command = to_command(msg, self.clock.now())
        await self.bus.publish(TICKETS_COMMANDS, envelope_for(
            command, seen["ticket_id"], occurred_at=self.clock.now(), id=mid, actor="client"))


class TicketEventsHandler:
    """Frees the conversation when its ticket stops being active, so the next message opens a new one."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, ev = delivery
        if isinstance(ev, CLOSING):
            await self.db[CONVERSATIONS].delete_many({"ticket_id": env.ticket_id})


__all__ = ["ACTIVE_STATUSES", "InboundHandler", "TicketEventsHandler", "INDEXES"]
