"""Intake rules without I/O: identities, which ticket a message joins, and the command it becomes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

import phonenumbers

from shared.ids import derived_id
from shared.mail import ticket_of_message_id
from shared.schemas.common import ClientRef, InboundContent, Sender, TicketStatus, TicketType
from shared.schemas.inbound import InboundMessage
from shared.schemas.tickets import ReceiveMessage

TicketRule = Literal["conversation", "contact", "contract"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG = re.compile(r"\[#(\d{1,12})\]")


# ---- identities ---------------------------------------------------------------------------------

def normalise_email(value: str | None) -> str | None:
    """Case-folded; None when it is not an address at all."""
    if not value:
        return None
    v = value.strip().strip("<>").casefold()
    return v if _EMAIL.match(v) else None


def normalise_phone(value: str | None, region: str = "RU") -> str | None:
    """E.164, or None when the number cannot be a phone number."""
    if not value or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_sender(sender: Sender, region: str) -> Sender:
    """Keep what the channel gave, normalised; an unparseable phone is kept as typed (still identifies)."""
    email = normalise_email(sender.email) or (sender.email.strip().casefold() if sender.email else None)
    phone = normalise_phone(sender.phone, region) or (sender.phone.strip() if sender.phone else None)
    return Sender(name=sender.name, email=email, phone=phone, chat_id=sender.chat_id)


def identities(sender: Sender) -> list[tuple[str, str]]:
    """Directory fields to look the sender up by, most specific first."""
    out: list[tuple[str, str]] = []
    if sender.email:
        out.append(("emails", sender.email))
    if sender.phone:
        out.append(("phones", sender.phone))
    if sender.chat_id:
        out.append(("chat_ids", sender.chat_id))
    return out


# ---- dedupe and conversation --------------------------------------------------------------------

def dedupe_key(msg: InboundMessage) -> str:
    """Same channel + external id is the same message, whatever id a sender put on it."""
    return f"{msg.channel.value}:{msg.external_id}"


def message_id(msg: InboundMessage) -> str:
    """Same channel + external id → same message id, however often it is delivered."""
    return msg.message_id or derived_id("inbound", msg.channel.value, msg.external_id)


def conversation_key(msg: InboundMessage, client: ClientRef | None = None, rule: TicketRule = "contact") -> str:
    """The key one active ticket is claimed under.

    Per contract: every message about one contract joins one ticket; per contact: one per person
    (an identified person's e-mail and phone share it); per conversation: one per chat session,
    call or thread. Unknown senders fall back from contract to contact to conversation.
    """
    if rule == "contract" and client and client.contract_number:
        return f"contract:{client.contract_number}"
    if rule in ("contract", "contact"):
        if client and client.contact_id:
            return f"contact:{client.contact_id}"
        s = msg.sender
        who = s.email.casefold() if s.email else s.phone or s.chat_id
        if who:
            return f"sender:{who}"
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


def can_join(status: str, closed_at: datetime | None, completed_at: datetime | None, now: datetime,
             reopen_window: timedelta) -> bool:
    """May a message be appended to this ticket (the ledger reopening it if needed)?"""
    s = TicketStatus(status)
    if s in (TicketStatus.completed, TicketStatus.closed):
        since = closed_at if s == TicketStatus.closed else completed_at
        return since is None or now - since <= reopen_window
    return True


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
               urgency: str = "normal") -> ReceiveMessage:
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
        requested_line=msg.requested_line, deadline=msg.deadline,
    )
