"""``tickets.commands`` → state machine → MongoDB → ``tickets.events``.

Exactly-one-effect per command id: the events a command produced are stored with
the ticket (its history) or, for rejections, in ``ledger_commands``; a redelivered
command re-publishes those same events (same ids) instead of deciding again.
Writes use the ticket's ``version`` as an optimistic lock, so a stale writer after
a rebalance loses instead of overwriting.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for, registry
from shared.contracts.schemas import tickets as t
from shared.contracts.ticket import Ticket, evolve
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.clock import Clock
from shared.runtime.kafka import Poison
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.ports import Bus

from .domain import COMMANDS, LedgerRules, Rejected, decide, follow_ups

log = logging.getLogger(__name__)

TICKETS = "tickets"
LEDGER_COMMANDS = "ledger_commands"
COUNTERS = "counters"

INDEXES = {
    TICKETS: [
        IndexModel([("number", ASCENDING)], unique=True),
        IndexModel([("status", ASCENDING), ("updated_at", DESCENDING)]),
        IndexModel([("assignee_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("offered_to", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("line", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("service_team_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("client.client_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("email_message_ids", ASCENDING)]),
        IndexModel([("parent_id", ASCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
    ],
    LEDGER_COMMANDS: [IndexModel([("ticket_id", ASCENDING)])],
}

# Fields left out when reading a ticket for a decision or a list: the history grows without bound.
NO_HISTORY = {"history": 0}
# Recent command ids kept on the ticket, so the common case needs no extra lookup to dedupe.
PROCESSED = "processed_commands"
PROCESSED_KEEP = 500
NUMBER_BLOCK = 20


class ConcurrentWrite(Exception):
    """Another writer moved the ticket on; the consumer retries with a fresh read."""


class LedgerStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.tickets = db[TICKETS]
        self.commands = db[LEDGER_COMMANDS]
        self._numbers: list[int] = []

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]:
        """The ticket and the ids of the commands it has recently processed (one round trip)."""
        doc = await self.tickets.find_one({"_id": ticket_id}, NO_HISTORY)
        if doc is None:
            return None, set()
        return Ticket.from_doc(doc), set(doc.get(PROCESSED, ()))

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None:
        """Events a command already produced, or None if it was never processed."""
        doc = await self.commands.find_one({"_id": command_id})
        if doc is not None:
            return list(doc["events"])
        pipeline = [
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
        if not self._numbers:
            doc = await self.db[COUNTERS].find_one_and_update(
                {"_id": "ticket_number"}, {"$inc": {"seq": NUMBER_BLOCK}}, upsert=True,
                return_document=ReturnDocument.AFTER)
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
        state = after.to_doc()
        state.pop("_id")
        result = await self.tickets.update_one(
            {"_id": after.id, "version": before.version},
            {"$set": state, "$push": {"history": {"$each": history},
                                      PROCESSED: {"$each": [command_id], "$slice": -PROCESSED_KEEP}}},
        )
        if result.matched_count != 1:
            raise ConcurrentWrite(f"ticket {after.id} moved past version {before.version}")

    async def mark_processed(self, ticket_id: str, command_id: str) -> None:
        await self.tickets.update_one({"_id": ticket_id},
                                      {"$push": {PROCESSED: {"$each": [command_id], "$slice": -PROCESSED_KEEP}}})

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None:
        try:
            await self.commands.insert_one({"_id": command.id, "ticket_id": command.ticket_id,
                                            "type": command.type, "at": command.occurred_at,
                                            "events": [e.model_dump(mode="json") for e in events]})
        except DuplicateKeyError:
            pass


class LedgerStorage(Protocol):
    """What the ledger's handler reads and writes (``LedgerStore`` on MongoDB; a dict in the unit tests)."""

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]: ...

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None: ...

    async def next_number(self) -> int: ...

    async def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None: ...

    async def mark_processed(self, ticket_id: str, command_id: str) -> None: ...

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None: ...


class LedgerHandler:
    def __init__(self, store: LedgerStorage, bus: Bus, clock: Clock, rules: LedgerRules) -> None:
        self.store, self.bus, self.clock, self.rules = store, bus, clock, rules

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, cmd = delivery
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)
        if type(cmd) not in COMMANDS:
            raise Poison(f"{env.type} is not a ledger command")
        ticket, processed = await self.store.load(env.ticket_id)
        # Seen before: on this ticket's recent list, or (no ticket yet / older) in ledger_commands.
        # An opening command on a missing ticket cannot have been processed: processing creates the ticket.
        opening = ticket is None and isinstance(cmd, (t.OpenTicket, t.ReceiveMessage))
        if not opening and (env.id in processed or ticket is None or len(processed) >= PROCESSED_KEEP):
            done = await self.store.events_caused_by(env.ticket_id, env.id)
            if done is not None:
                await self._replay([Envelope.model_validate(e) for e in done])
                return
        await self._decide_and_record(env, cmd, ticket)

    async def _replay(self, replay: list[Envelope]) -> None:
        """Re-publish what a command already produced (same ids), and its follow-ups."""
        await self._publish(replay)
        if replay:
            ticket, _ = await self.store.load(replay[-1].ticket_id)
            if ticket is not None:
                await self._send_follow_ups(ticket, [registry.parse(e) for e in replay], replay[-1])

    async def _decide_and_record(self, env: Envelope, cmd: Message, ticket: Ticket | None) -> None:
        now = self.clock.now()
        number = 0
        if ticket is None and isinstance(cmd, (t.OpenTicket, t.ReceiveMessage)):
            number = await self.store.next_number()
        try:
            messages = decide(ticket, cmd, now, next_number=number, rules=self.rules)
        except Rejected as rej:
            rejected = envelope_for(
                t.CommandRejected(command_id=env.id, command_type=env.type, reason=rej.reason, code=rej.code),
                env.ticket_id, occurred_at=now, cause=env, id=caused_id(env, "rejected"))
            await self.store.record_command(env, [rejected])
            if ticket is not None:
                await self.store.mark_processed(env.ticket_id, env.id)
            await self._publish([rejected])
            return
        envelopes = [envelope_for(m, env.ticket_id, occurred_at=now, cause=env, id=caused_id(env, i))
                     for i, m in enumerate(messages)]
        if not envelopes:
            await self.store.record_command(env, [])
            if ticket is not None:
                await self.store.mark_processed(env.ticket_id, env.id)
            return
        after = ticket
        for e, m in zip(envelopes, messages, strict=True):
            after = evolve(after, e, m)
        assert after is not None
        await self.store.save(ticket, after, envelopes, env.id)
        await self._publish(envelopes)
        await self._send_follow_ups(after, messages, envelopes[-1])

    async def _send_follow_ups(self, ticket: Ticket, messages: list[Message], cause: Envelope) -> None:
        for i, (target, command) in enumerate(follow_ups(ticket, messages)):
            await self.bus.publish(TICKETS_COMMANDS, envelope_for(
                command, target, occurred_at=cause.occurred_at, cause=cause, id=caused_id(cause, "follow-up", i)))

    async def _publish(self, envelopes: list[Envelope]) -> None:
        if envelopes:
            await self.bus.publish_many(TICKETS_EVENTS, envelopes)


def rebuild(history: list[dict[str, Any]]) -> Ticket | None:
    """Replay a stored history into a ticket: proves the state is derivable from its events."""
    ticket: Ticket | None = None
    for raw in history:
        env = Envelope.model_validate(raw)
        msg = registry.parse(env)
        if isinstance(msg, t.CommandRejected):
            continue
        ticket = evolve(ticket, env, msg)
    return ticket
