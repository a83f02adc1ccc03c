"""Intake rules: which conversation a message belongs to, and the command it becomes."""

from __future__ import annotations

from shared.ids import derived_id
from shared.schemas.common import InboundContent
from shared.schemas.inbound import InboundMessage
from shared.schemas.tickets import ReceiveMessage


def message_id(msg: InboundMessage) -> str:
    """Same channel + external id → same message id, however often it is delivered."""
    return msg.message_id or derived_id("inbound", msg.channel.value, msg.external_id)


def conversation_key(msg: InboundMessage) -> str:
    """One ticket per conversation: by default one active ticket per sender."""
    s = msg.sender
    who = s.email.casefold() if s.email else s.phone or s.chat_id
    return f"contact:{who}" if who else f"conversation:{msg.channel.value}:{msg.conversation_id or msg.external_id}"


def to_command(msg: InboundMessage, received_at_default: object = None) -> ReceiveMessage:
    content = InboundContent(
        message_id=message_id(msg), channel=msg.channel, external_id=msg.external_id,
        conversation_id=msg.conversation_id, subject=msg.subject, text=msg.text, sender=msg.sender,
        received_at=msg.received_at or received_at_default, attachments=msg.attachments,  # type: ignore[arg-type]
        email_message_id=msg.email_message_id, in_reply_to=msg.in_reply_to, references=msg.references,
        call=msg.call,
    )
    return ReceiveMessage(
        channel=msg.channel, subject=msg.subject, sender=msg.sender, content=content,
        classification=msg.classification, ticket_type=msg.ticket_type or "request",
        requested_line=msg.requested_line, deadline=msg.deadline,
    )
