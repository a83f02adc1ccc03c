"""``tickets.commands`` → state machine → MongoDB → ``tickets.events``.

Exactly-one-effect per command id: the events a command produced are stored with
the ticket (its history) or, for rejections, in ``ledger_commands``; a redelivered
command re-publishes those same events (same ids) instead of deciding again.
Writes use the ticket's ``version`` as an optimistic lock, so a stale writer after
a rebalance loses instead of overwriting.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for, registry
from shared.contracts.schemas import tickets
from shared.contracts.ticket import Ticket, evolve
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory.custom_fields import CustomField
from shared.runtime.clock import Clock
from shared.runtime.kafka import Poison
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.ports import Bus

from .batch import Loaded, Pending, TicketWrite
from .domain import COMMANDS, READS_CUSTOM_FIELDS, READS_HISTORY, LedgerRules, Rejected, decide, follow_ups
from .moves import Entry, move_follow_ups, needs_history

log = logging.getLogger(__name__)

# Recent command ids kept on the ticket, so the common case needs no extra lookup to dedupe.
PROCESSED_KEEP = 500
# Commands that may open a ticket that does not exist yet.
OPENING = (tickets.OpenTicket, tickets.ReceiveMessage)
# Commands tried on the assumption that their ticket is new, remembered so a refused try reads next time.
TRIED_KEEP = 10_000


@dataclass(frozen=True)
class Decision:
    """A command's events and the ticket they leave (None: nothing to save -- refused, or no events)."""

    events: list[Envelope]
    messages: list[Message]
    after: Ticket | None


def _batchable(env: Envelope, cmd: Message, ticket: Ticket | None, processed: set[str]) -> bool:
    """Decidable on the ticket alone and surely new: an opening on a missing ticket, or a command its ticket has not
    processed (and whose recent list is not full), that reads no directory or history."""
    if ticket is None:
        return isinstance(cmd, OPENING)
    kind = type(cmd)
    return (kind in COMMANDS and kind not in READS_CUSTOM_FIELDS and kind not in READS_HISTORY
            and env.id not in processed and len(processed) < PROCESSED_KEEP)


class ConcurrentWrite(Exception):
    """Another writer moved the ticket on; the consumer retries with a fresh read."""


class LedgerStorage(Protocol):
    """What the ledger's handler reads and writes (``LedgerStore`` on MongoDB; a dict in the unit tests)."""

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]: ...

    def kept(self, ticket_id: str) -> Loaded | None:
        """The ticket as this process last wrote it, without a read (None: not known)."""

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None: ...

    async def next_number(self) -> int: ...

    async def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None: ...

    async def load_many(self, ticket_ids: set[str]) -> dict[str, Loaded]: ...

    async def save_batch(self, writes: list[TicketWrite], recorded: list[tuple[Envelope, list[Envelope]]],
                         ) -> None: ...

    async def mark_processed(self, ticket_id: str, command_id: str) -> None: ...

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None: ...


FieldDefinitions = Callable[[], Awaitable[Sequence[CustomField]]]
# A ticket's stored history (merge and split read it; ``history.py`` on MongoDB).
HistoryReader = Callable[[str], Awaitable[list[dict[str, Any]]]]


async def _no_fields() -> Sequence[CustomField]:
    return ()


async def _no_history(ticket_id: str) -> list[dict[str, Any]]:
    return []


class LedgerHandler:
    """``custom_fields`` reads the custom-fields directory (read-only) for the commands that check values."""

    def __init__(self, store: LedgerStorage, bus: Bus, clock: Clock, rules: LedgerRules,
                 custom_fields: FieldDefinitions = _no_fields, history: HistoryReader = _no_history) -> None:
        self.store, self.bus, self.clock, self.rules = store, bus, clock, rules
        self.custom_fields = custom_fields
        self.history = history
        self._tried_new: OrderedDict[str, None] = OrderedDict()

    def _assumed_new(self, env: Envelope, cmd: Message) -> bool:
        """Intake said the message opens a new ticket, and this is the command's first try here: insert it without
        reading. If the ticket exists after all (a redelivery, a wrong hint) the insert is refused, the write fails
        like any concurrent write, and the retry reads the ticket."""
        if not (isinstance(cmd, tickets.ReceiveMessage) and cmd.new_ticket) or env.id in self._tried_new:
            return False
        self._tried_new[env.id] = None
        while len(self._tried_new) > TRIED_KEEP:
            self._tried_new.popitem(last=False)
        return self.store.kept(env.ticket_id) is None

    async def _load(self, env: Envelope, cmd: Message) -> Loaded:
        return (None, set()) if self._assumed_new(env, cmd) else await self.store.load(env.ticket_id)

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, cmd = delivery
        self._context(env)
        if type(cmd) not in COMMANDS:
            raise Poison(f"{env.type} is not a ledger command")
        ticket, processed = await self._load(env, cmd)
        # Seen before: on this ticket's recent list, or (no ticket yet / older) in ledger_commands.
        # An opening command on a missing ticket cannot have been processed: processing creates the ticket.
        opening = ticket is None and isinstance(cmd, OPENING)
        if not opening and (env.id in processed or ticket is None or len(processed) >= PROCESSED_KEEP):
            done = await self.store.events_caused_by(env.ticket_id, env.id)
            if done is not None:
                await self._replay([Envelope.model_validate(e) for e in done])
                return
        await self._decide_and_record(env, cmd, ticket)

    @staticmethod
    def _context(env: Envelope) -> None:
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)

    async def _replay(self, replay: list[Envelope]) -> None:
        """Re-publish what a command already produced (same ids), and its follow-ups."""
        await self._publish(replay)
        if replay:
            ticket, _ = await self.store.load(replay[-1].ticket_id)
            if ticket is not None:
                decision = Decision(replay, [registry.parse(e) for e in replay], ticket)
                await self._publish_follow_ups(await self._follow_ups(decision))

    async def _decide_and_record(self, env: Envelope, cmd: Message, ticket: Ticket | None) -> None:
        number = await self.store.next_number() if ticket is None and isinstance(cmd, OPENING) else 0
        rules = self.rules
        if type(cmd) in READS_CUSTOM_FIELDS and ticket is not None:
            rules = replace(rules, custom_fields=tuple(await self.custom_fields()))
        if type(cmd) in READS_HISTORY and ticket is not None:
            rules = await self._with_history(rules, ticket, cmd)
        decision = self._decide(env, cmd, ticket, number, rules)
        if decision.after is None:
            await self.store.record_command(env, decision.events)
            if ticket is not None:
                await self.store.mark_processed(env.ticket_id, env.id)
            await self._publish(decision.events)
            return
        await self.store.save(ticket, decision.after, decision.events, env.id)
        await self._publish(decision.events)
        await self._publish_follow_ups(await self._follow_ups(decision))

    def _decide(self, env: Envelope, cmd: Message, ticket: Ticket | None, number: int, rules: LedgerRules,
                ) -> Decision:
        now = self.clock.now()
        try:
            messages = decide(ticket, cmd, now, next_number=number, rules=rules)
        except Rejected as rej:
            rejected = envelope_for(
                tickets.CommandRejected(command_id=env.id, command_type=env.type, reason=rej.reason, code=rej.code),
                env.ticket_id, occurred_at=now, cause=env, id=caused_id(env, "rejected"))
            return Decision([rejected], [], None)
        envelopes = [envelope_for(m, env.ticket_id, occurred_at=now, cause=env, id=caused_id(env, i))
                     for i, m in enumerate(messages)]
        after = ticket
        for e, m in zip(envelopes, messages, strict=True):
            after = evolve(after, e, m)
        return Decision(envelopes, messages, after if envelopes else None)

    # ---- a partition's fetched commands at once ----------------------------------------------

    async def batch(self, deliveries: list[tuple[Envelope, Message]]) -> None:
        """Decided in order in memory, each touched ticket written once, then published (see batch.py). A command
        the batch cannot decide alone (a possible redelivery, one that reads more than its ticket) is handled the
        ordinary way, after what the batch holds so far is written."""
        new = {env.ticket_id for env, cmd in deliveries if self._assumed_new(env, cmd)}
        pending = Pending({tid: (None, set()) for tid in new})
        pending.state |= await self.store.load_many({env.ticket_id for env, _ in deliveries} - new)
        for env, cmd in deliveries:
            self._context(env)
            ticket, processed = await pending.current(env.ticket_id, self.store.load)
            if not _batchable(env, cmd, ticket, processed):
                await self._flush(pending)
                await self((env, cmd))
                pending.forget(env.ticket_id)
                continue
            decision = self._decide(env, cmd, ticket, await self.store.next_number() if ticket is None else 0,
                                    self.rules)
            if decision.after is None:
                pending.record(env, decision.events, ticket)
            else:
                pending.save(ticket, decision.after, decision.events, env.id)
                pending.follow_ups += await self._follow_ups(decision)
        await self._flush(pending)

    async def _flush(self, pending: Pending) -> None:
        writes, recorded = pending.taken()
        if writes or recorded:
            await self.store.save_batch(writes, recorded)
        events, follow_ups = pending.to_publish()
        await self._publish(events)
        await self._publish_follow_ups(follow_ups)

    async def _with_history(self, rules: LedgerRules, ticket: Ticket, cmd: Message) -> LedgerRules:
        """Merge and split decide on this ticket's history; a merge also on the target as it stands now."""
        target = None
        if isinstance(cmd, tickets.MergeTicket) and cmd.target_id != ticket.id:
            target, _ = await self.store.load(cmd.target_id)
        return replace(rules, merge_target=target, history=tuple(await self._entries(ticket.id)))

    async def _entries(self, ticket_id: str) -> list[Entry]:
        out = []
        for raw in await self.history(ticket_id):
            env = Envelope.model_validate(raw)
            if env.type != tickets.CommandRejected.TYPE:
                out.append(Entry(env.id, env.occurred_at, registry.parse(env)))
        return out

    async def _follow_ups(self, decision: Decision) -> list[Envelope]:
        assert decision.after is not None
        ticket, messages, cause = decision.after, decision.messages, decision.events[-1]
        outgoing = follow_ups(ticket, messages)
        if needs_history(messages):  # what a merge or split moves is read back from the history, the same each time
            history = await self._entries(ticket.id)
            outgoing += [f for m in messages for f in move_follow_ups(ticket, m, history)]
        return [envelope_for(command, target, occurred_at=cause.occurred_at, cause=cause,
                             id=caused_id(cause, "follow-up", i)) for i, (target, command) in enumerate(outgoing)]

    async def _publish_follow_ups(self, envelopes: list[Envelope]) -> None:
        if envelopes:
            await self.bus.publish_many(TICKETS_COMMANDS, envelopes)

    async def _publish(self, envelopes: list[Envelope]) -> None:
        if envelopes:
            await self.bus.publish_many(TICKETS_EVENTS, envelopes)


def rebuild(history: list[dict[str, Any]]) -> Ticket | None:
    """Replay a stored history into a ticket: proves the state is derivable from its events."""
    ticket: Ticket | None = None
    for raw in history:
        env = Envelope.model_validate(raw)
        msg = registry.parse(env)
        if isinstance(msg, tickets.CommandRejected):
            continue
        ticket = evolve(ticket, env, msg)
    return ticket
