"""A partition's fetched ``inbound.messages`` in one go: one read of the recorded decisions, one look-up of the
distinct senders, one bulk claim of the conversations (and one read of who owns each), one insert of the new
decisions, one publish of the commands. It decides exactly as ``Pipeline.handle`` does one by one; a message that
cites a ticket (threading) is rare and goes that way, after what is pending, so the order of effects is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import ClientRef
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import TICKETS_COMMANDS

from .bulk import BulkStore
from .domain import candidate_ticket, cites_a_ticket, conversation_key, dedupe_key
from .handlers import Pipeline
from .senders import Identified, Wanted

Decision = dict[str, Any]


@dataclass
class Item:
    msg: InboundMessage
    key: str
    decision: Decision | None = None  # known already (recorded, or one that never becomes a ticket)
    found: Identified | None = None  # the sender, for a message still to decide
    new: bool = False  # its decision is to be recorded by this flush (else: recorded, or a repeat of one pending)


@dataclass
class Pending:
    items: list[Item] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


class InboundBatch:
    """The ``inbound.messages`` consumer's batch handler. Raising (an invalid message, before anything is
    written) makes the runtime handle the batch one by one, where the invalid message is dead-lettered."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.bulk = BulkStore(pipeline.store)

    async def __call__(self, batch: list[InboundMessage]) -> None:
        p = self.pipeline
        msgs = [p.normalise(m) for m in batch]
        keys = [dedupe_key(m) for m in msgs]
        done = await self.bulk.messages(keys)
        fresh = [m for m, k in zip(msgs, keys, strict=True) if k not in done and p.skipped(m, k) is None]
        for m in fresh:
            await p.validate(m)
        found = await self._identify([m for m in fresh if not cites_a_ticket(m)])
        pending = Pending()
        for raw, msg, key in zip(batch, msgs, keys, strict=True):
            if key in done or key in pending.keys:  # a repeat is published again, as a redelivery would be
                pending.items.append(Item(msg, key, done.get(key)))
            elif (skip := p.skipped(msg, key)) is not None:
                pending.items.append(Item(msg, key, skip, new=True))
            elif cites_a_ticket(msg):
                done.update(await self._flush(pending))
                pending = Pending()
                done[key] = await p.handle(raw)
                continue
            else:
                pending.items.append(Item(msg, key, found=found[_who(msg)], new=True))
            pending.keys.add(key)
        await self._flush(pending)

    async def _identify(self, msgs: list[InboundMessage]) -> dict[tuple[Any, ...], Identified]:
        wanted = {_who(m): Wanted(m.sender, m.contract_number) for m in msgs}
        return dict(zip(wanted, await self.pipeline.store.senders.identify_many(list(wanted.values())), strict=True))

    async def _flush(self, pending: Pending) -> dict[str, Decision]:
        """Claim, record and publish what is pending, in its order; the decisions by key."""
        if not pending.items:
            return {}
        decided = await self._decide([i for i in pending.items if i.new and i.decision is None])
        recorded = await self.bulk.record_messages([i.decision or decided[i.key] for i in pending.items if i.new])
        envelopes: list[Envelope] = []
        for item in pending.items:
            decision = recorded.get(item.key) or item.decision
            assert decision is not None  # recorded by this flush, or before it
            if not decision.get("ignored"):
                envelopes.append(await self.pipeline.envelope(item.msg, decision))
        if envelopes:
            await self.pipeline.bus.publish_many(TICKETS_COMMANDS, envelopes)
        return recorded

    async def _decide(self, items: list[Item]) -> dict[str, Decision]:
        """Each message's ticket: its conversation's active one, else its own candidate, claimed for all at once."""
        p = self.pipeline
        routed: list[tuple[Item, str, ClientRef | None, list[tickets.ReviewNote]]] = []
        candidates: dict[str, str] = {}
        for item in items:
            assert item.found is not None
            review: list[tickets.ReviewNote] = []
            client = p.client_of(item.msg, item.found, review)
            conv = conversation_key(item.msg, client, p.rule)
            candidates.setdefault(conv, candidate_ticket(item.key))
            routed.append((item, conv, client, review))
        owners = await self.bulk.claim(candidates)
        taken = {conv for conv, owner in owners.items() if owner != candidates[conv]}
        existing = await self.bulk.tickets({owners[conv] for conv in taken})
        replaced: set[str] = set()
        for conv in sorted(taken):  # a ticket that can no longer take a message gives its conversation up
            doc = existing.get(owners[conv])
            if doc is not None and not p.threads.joinable(doc):
                owners[conv] = await p.store.replace_claim(conv, owners[conv], candidates[conv])  # keys included
                replaced.add(conv)
        taken -= replaced
        decided: dict[str, Decision] = {}
        opened: set[str] = set()
        for item, conv, client, review in routed:
            via = "conversation" if conv in taken or conv in opened else "new"
            claimed = conv if via == "new" else None  # its decision notes the claim, as one by one
            opened.add(conv)
            decided[item.key] = await p.decision(item.msg, item.key, owners[conv], via, client, review, claimed)
        return decided


def _who(msg: InboundMessage) -> tuple[Any, ...]:
    """What identifying a sender depends on: two messages alike in it identify alike."""
    s = msg.sender
    return s.email, s.phone, s.chat_id, msg.contract_number
