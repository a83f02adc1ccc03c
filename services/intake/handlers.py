"""``inbound.messages`` (and the mail poller) → identified, threaded ``ReceiveMessage`` for the ledger.

The conversation → active ticket mapping is claimed atomically in MongoDB, so two
messages of one conversation racing through two intake pods land on one ticket.
The first decision for a message (its ticket, its client) is recorded under its
channel + external id; every redelivery re-publishes that same decision with the
same command id, so the ledger records it once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import ClientRef
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clock import Clock
from shared.runtime.kafka import KafkaBus, Poison

from .classify import all_errors, urgency_of, with_service
from .domain import (
    TicketRule,
    candidate_ticket,
    conversation_key,
    dedupe_key,
    is_own_mail,
    lookalike_sender,
    message_id,
    normalise_sender,
    to_command,
    unverified_thread,
)
from .senders import Identified, Wanted
from .store import CLAIMED, INDEXES, IntakeStore
from .threads import Threads

log = logging.getLogger(__name__)
CLOSING = (tickets.TicketResolved, tickets.TicketCompleted, tickets.TicketClosed)


class InvalidInbound(ValueError):
    """A message that can never become a ticket as sent (e.g. not in the classification tree)."""


class Pipeline:
    """Everything between an inbound message and the ledger command; shared by every channel."""

    def __init__(self, store: IntakeStore, bus: KafkaBus, clock: Clock, *, domain: str, region: str,
                 rule: TicketRule, reopen_window: timedelta) -> None:
        self.store, self.bus, self.clock = store, bus, clock
        self.domain, self.region, self.rule, self.reopen_window = domain, region, rule, reopen_window
        self.threads = Threads(store, clock, domain=domain, reopen_window=reopen_window)

    def normalise(self, msg: InboundMessage) -> InboundMessage:
        return msg.model_copy(update={"sender": normalise_sender(msg.sender, self.region)})

    async def validate(self, msg: InboundMessage) -> None:
        errors = all_errors(await self.store.topics.get(), [msg.classification, *msg.questions])
        if errors:
            raise InvalidInbound("; ".join(errors))

    async def handle(self, msg: InboundMessage) -> dict[str, Any]:
        """Decide (once) and publish; returns the recorded decision."""
        msg = self.normalise(msg)
        key = dedupe_key(msg)
        seen = await self.store.message(key)
        if seen is None:
            seen = await self.store.record_message(await self._decide(msg, key))
        if seen.get("ignored"):
            return seen
        await self.bus.publish(TICKETS_COMMANDS, await self.envelope(msg, seen))
        return seen

    def skipped(self, msg: InboundMessage, key: str) -> dict[str, Any] | None:
        """The decision for a message that never becomes a ticket (an auto-reply, our own mail come back)."""
        if msg.auto_submitted or is_own_mail(msg, self.domain):
            return {**self._base(msg, key), "ignored": "auto_submitted" if msg.auto_submitted else "own_mail"}
        return None

    def _base(self, msg: InboundMessage, key: str) -> dict[str, Any]:
        mid = message_id(msg)
        return {"_id": key, "message_id": mid, "command_id": mid, "at": self.clock.now()}

    async def _decide(self, msg: InboundMessage, key: str) -> dict[str, Any]:
        if (skip := self.skipped(msg, key)) is not None:
            return skip
        await self.validate(msg)
        review: list[tickets.ReviewNote] = []
        (found,) = await self.store.senders.identify_many([Wanted(msg.sender, msg.contract_number)])
        client = self.client_of(msg, found, review)
        ticket_id, via, claimed = await self._route(msg, key, client, review)
        return await self.decision(msg, key, ticket_id, via, client, review, claimed)

    async def decision(self, msg: InboundMessage, key: str, ticket_id: str, via: str, client: ClientRef | None,
                       review: list[tickets.ReviewNote], claimed: str | None = None) -> dict[str, Any]:
        """``claimed``: the conversation this message claimed for its new ticket (a reopening takes it back)."""
        topics = [c.topic for c in (msg.classification, *msg.questions) if c and c.topic]
        urgency = urgency_of(await self.store.urgency.get(), f"{msg.subject or ''}\n{msg.text}", topics)
        return {**self._base(msg, key), "ticket_id": ticket_id, "via": via, "urgency": urgency,
                "client": client.model_dump(mode="json") if client else None,
                "review": [n.model_dump(mode="json") for n in review], "inbound": msg.model_dump(mode="json"),
                **({CLAIMED: claimed} if claimed else {})}

    @staticmethod
    def client_of(msg: InboundMessage, found: Identified, review: list[tickets.ReviewNote]) -> ClientRef | None:
        """The sender's client; none for an address imitating a known contact's (flagged for an agent)."""
        if found.twin is not None and msg.sender.email:
            review.append(lookalike_sender(msg.sender.email, *found.twin))
            return None
        return found.client

    async def _route(self, msg: InboundMessage, key: str, client: ClientRef | None,
                     review: list[tickets.ReviewNote]) -> tuple[str, str, str | None]:
        """Which ticket: a thread it answers, else the conversation's active ticket, else a new one; and, for a new
        one, the conversation claimed for it."""
        conv = conversation_key(msg, client, self.rule)
        threaded, refused = await self.threads.thread(msg, client)
        if threaded:
            ticket_id, via = threaded
            await self.store.claim_if_free(conv, ticket_id)
            return ticket_id, via, None
        if refused is not None:
            review.append(unverified_thread(refused.get("number"), str(refused["_id"])))
        candidate = candidate_ticket(key)
        ticket_id, fresh = await self.store.claim(conv, candidate, remember=False)
        if not fresh:
            doc = await self.store.ticket(ticket_id)
            if doc is not None and not self.threads.joinable(doc):
                ticket_id = await self.store.replace_claim(conv, ticket_id, candidate)
                return ticket_id, "new", conv
            return ticket_id, "conversation", None
        return ticket_id, "new", conv

    async def envelope(self, msg: InboundMessage, seen: dict[str, Any]) -> Envelope:
        """The ``ReceiveMessage`` a recorded decision becomes; the same every time it is published."""
        client = ClientRef.model_validate(seen["client"]) if seen.get("client") else None
        # the ticket records the catalogue service its tree node names: reports group by it, routing offers by it
        msg = msg.model_copy(update={"classification": with_service(await self.store.topics.get(), msg.classification)})
        review = [tickets.ReviewNote.model_validate(n) for n in seen.get("review") or []]
        command = to_command(msg, received_at=seen["at"], client=client, urgency=seen.get("urgency", "normal"),
                             review=review, new_ticket=seen.get("via") == "new")
        command.content.message_id = seen["message_id"]
        return envelope_for(command, seen["ticket_id"], occurred_at=seen["at"], id=seen["command_id"], actor="client")

    async def reroute(self, message_id_: str, rejected_on: str) -> bool:
        """The ledger refused to reopen the ticket (window passed): the message opens a new ticket."""
        seen = await self.store.message_by_id(message_id_)
        if seen is None or seen.get("ticket_id") != rejected_on or not seen.get("inbound"):
            return False
        new_ticket = caused_id(message_id_, "reroute", rejected_on)
        command_id = caused_id(message_id_, "reroute-command", rejected_on)
        await self.store.reroute(seen["_id"], rejected_on, new_ticket, command_id)
        msg = InboundMessage.model_validate(seen["inbound"])
        client = ClientRef.model_validate(seen["client"]) if seen.get("client") else None
        await self.store.replace_claim(conversation_key(msg, client, self.rule), rejected_on, new_ticket)
        seen = {**seen, "ticket_id": new_ticket, "command_id": command_id}
        await self.bus.publish(TICKETS_COMMANDS, await self.envelope(msg, seen))
        return True


class InboundHandler:
    """The ``inbound.messages`` consumer: invalid input is dead-lettered with the reason."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def __call__(self, msg: InboundMessage) -> None:
        try:
            await self.pipeline.handle(msg)
        except InvalidInbound as exc:
            raise Poison(str(exc)) from exc


class TicketEventsHandler:
    """Keeps intake's view in step with the ledger: frees/reclaims conversations, learns linked senders.

    A resolution frees the ticket's conversations (the client's next message opens a new ticket); its completion
    or closing frees what was claimed for it since. ``released`` remembers the tickets this consumer freed on their
    resolution while it holds their partitions (``partitions_changed`` forgets): their completion deletes nothing
    unless this consumer saw a claim since (a reopening's, a linked sender's). A claim made elsewhere for a
    resolved ticket is a message threaded to it, which the ledger answers on this partition by reopening it (or,
    too late to reopen, by the rejection that moves the claim to a new ticket)."""

    def __init__(self, pipeline: Pipeline, remember: int = 10_000) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.remember = remember
        self.released: OrderedDict[str, None] = OrderedDict()

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, ev = delivery
        if isinstance(ev, tickets.TicketResolved):
            await self.store.release(env.ticket_id)
            self._released(env.ticket_id)
        elif isinstance(ev, CLOSING):
            if env.ticket_id not in self.released:
                await self.store.release(env.ticket_id)
        elif isinstance(ev, tickets.TicketReopened):
            self.released.pop(env.ticket_id, None)
            await self.store.reclaim(env.ticket_id)
        elif isinstance(ev, tickets.ClientLinked) and ev.linked_by != "intake":
            self.released.pop(env.ticket_id, None)
            await self._linked(env, ev)
        elif isinstance(ev, tickets.CommandRejected) and ev.command_type == "ReceiveMessage" \
                and ev.code == "reopen_window_passed":
            await self.pipeline.reroute(ev.command_id, env.ticket_id)

    def _released(self, ticket_id: str) -> None:
        self.released[ticket_id] = None
        self.released.move_to_end(ticket_id)
        while len(self.released) > self.remember:
            self.released.popitem(last=False)

    async def partitions_changed(self, _partitions: set[Any]) -> None:
        """A rebalance hook: another instance may have seen this ticket's events meanwhile."""
        self.released.clear()

    async def _linked(self, env: Envelope, ev: tickets.ClientLinked) -> None:
        sender = normalise_sender(ev.sender, self.pipeline.region)
        ref = await self.store.identify(sender)
        if ref is None:  # learn an unknown sender only: a re-link must not move a known contact to another client
            await self.store.add_identity(ev.client, sender, actor=ev.linked_by, at=env.occurred_at)
            ref = await self.store.identify(sender)
        if ref is not None:  # later messages are keyed by the contact now: keep them on this ticket
            probe = InboundMessage(channel=tickets.Channel.system, external_id=env.id, sender=sender)
            await self.store.claim_if_free(conversation_key(probe, ref, self.pipeline.rule), env.ticket_id)


__all__ = ["INDEXES", "InboundHandler", "InvalidInbound", "Pipeline", "TicketEventsHandler"]
