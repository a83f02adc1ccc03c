"""Intake rules without I/O: identities, which ticket a message joins, and the command it becomes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from shared.contracts.mail import ticket_of_message_id
from shared.contracts.schemas.common import ClientRef, InboundContent, TicketStatus, TicketType
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.schemas.tickets import ReceiveMessage, ReviewNote
from shared.contracts.ticket_rules import reopen_window_open
from shared.runtime.ids import derived_id

from .identity import email_key
from .identity import identities as identities  # re-exported: intake's callers import identity rules from here
from .identity import normalise_phone as normalise_phone
from .identity import normalise_sender as normalise_sender

TicketRule = Literal["conversation", "contact", "contract"]
normalise_email = email_key  # the importer's and the mail parser's name for the one identity key
_TAG = re.compile(r"\[#(\d{1,12})\]")


# ---- dedupe and conversation --------------------------------------------------------------------

def dedupe_key(msg: InboundMessage) -> str:
    """Same channel + external id is the same message, whatever id a sender put on it."""
    return f"{msg.channel.value}:{msg.external_id}"


def candidate_ticket(key: str) -> str:
    """The ticket a message opens if its conversation has none: derived from its dedupe key, so a message decided
    again after a crash (before its decision was recorded) claims the very ticket it claimed the first time."""
    return derived_id("ticket", key)


def message_id(msg: InboundMessage) -> str:
    """Same channel + external id → same message id, however often it is delivered."""
    return msg.message_id or derived_id("inbound", msg.channel.value, msg.external_id)


def conversation_key(msg: InboundMessage, client: ClientRef | None = None, rule: TicketRule = "contact") -> str:
    """The key one active ticket is claimed under.

    Per contract: every message about one contract joins one ticket; per contact: one per person
    (an identified person's e-mail and phone share it); per conversation: one per chat session,
    call or thread. Unknown senders fall back from contract to contact to conversation.
    """
    s = msg.sender
    who = (email_key(s.email) or s.email) if s.email else s.phone or s.chat_id
    if rule == "contract" and client and client.contact_id and client.contract_number:
        return f"contract:{client.contract_number}"  # a known person of the client, not just a named contract
    if rule in ("contract", "contact"):
        if client and client.contact_id:
            return f"contact:{client.contact_id}"
        if who:
            return f"sender:{who}"
    if msg.channel.value == "email":  # the thread id comes from the sender's own headers: one per sender
        return f"conversation:email:{who or ''}:{msg.conversation_id or msg.external_id}"
    return f"conversation:{msg.channel.value}:{msg.conversation_id or msg.external_id}"


# ---- e-mail threading ---------------------------------------------------------------------------

def thread_refs(msg: InboundMessage) -> list[str]:
    """Message ids this message answers: In-Reply-To first, then References newest first."""
    refs = ([msg.in_reply_to] if msg.in_reply_to else []) + list(reversed(msg.references))
    seen: list[str] = []
    for r in refs:
        r = r.strip()
        if r and r not in seen:
            seen.append(r)
    return seen


def cites_a_ticket(msg: InboundMessage) -> bool:
    """Does the message say which ticket it continues (threading headers, or a ``[#N]`` tag on e-mail)?"""
    return bool(thread_refs(msg)) or (msg.channel.value == "email" and subject_number(msg.subject) is not None)


def own_ticket(refs: list[str], domain: str) -> str | None:
    """The ticket id inside one of our own outbound Message-IDs the client answered."""
    for r in refs:
        ticket = ticket_of_message_id(r, domain)
        if ticket:
            return ticket
    return None


def subject_number(subject: str | None) -> int | None:
    """Ticket number from a ``[#123]`` tag in the subject."""
    m = _TAG.search(subject or "")
    return int(m[1]) if m else None


def is_own_mail(msg: InboundMessage, domain: str) -> bool:
    """Mail carrying one of our own Message-IDs is our outbound mail coming back: a loop."""
    return bool(msg.email_message_id and ticket_of_message_id(msg.email_message_id, domain))


def unverified_thread(number: int | None, ticket_id: str) -> ReviewNote:
    """A message citing a ticket whose sender is not its client: it opened a ticket of its own instead."""
    cited = f"#{number}" if number is not None else ticket_id
    return ReviewNote(flag="unverified_thread", reason=(
        f"claims to continue {cited}, but the sender is not its client: opened as a ticket of its own / "
        f"ссылается на заявку {cited}, но отправитель не её клиент: открыта отдельная заявка"))


def lookalike_sender(address: str, imitated: str, contact_id: str) -> ReviewNote:
    """An address that reads as a known contact's but is another mailbox: not identified, for an agent to check."""
    return ReviewNote(flag="lookalike_sender", reason=(
        f"{address} looks like {imitated} (contact {contact_id}) but is another mailbox: client not identified / "
        f"адрес {address} похож на {imitated} (контакт {contact_id}), но это другой ящик: клиент не определён"))


def can_join(status: str, closed_at: datetime | None, completed_at: datetime | None, now: datetime,
             reopen_window: timedelta) -> bool:
    """May a message be appended to this ticket (the ledger reopening it if needed)? The ledger's own rule."""
    return reopen_window_open(TicketStatus(status), closed_at=closed_at, completed_at=completed_at, now=now,
                              window=reopen_window)


# ---- the command --------------------------------------------------------------------------------

def ticket_type_of(msg: InboundMessage) -> TicketType:
    """Complaint > Request > Consultation over every question the contact raised."""
    types = [msg.ticket_type] if msg.ticket_type else []
    for c in [msg.classification, *msg.questions]:
        if c and c.type:
            try:
                types.append(TicketType(c.type))
            except ValueError:
                continue
    return max(types, key=lambda x: x.rank) if types else TicketType.request


def to_command(msg: InboundMessage, *, received_at: datetime, client: ClientRef | None = None,
               urgency: str = "normal", review: list[ReviewNote] | None = None, new_ticket: bool = False,
               ) -> ReceiveMessage:
    content = InboundContent(
        message_id=message_id(msg), channel=msg.channel, external_id=msg.external_id,
        conversation_id=msg.conversation_id, subject=msg.subject, text=msg.text, sender=msg.sender,
        received_at=msg.received_at or received_at, attachments=msg.attachments,
        email_message_id=msg.email_message_id, in_reply_to=msg.in_reply_to, references=msg.references,
        call=msg.call,
    )
    return ReceiveMessage(
        channel=msg.channel, subject=msg.subject, sender=msg.sender, client=client, content=content,
        classification=msg.classification, ticket_type=ticket_type_of(msg), urgency=urgency,
        requested_line=msg.requested_line, deadline=msg.deadline, review=review or [], new_ticket=new_ticket,
    )

