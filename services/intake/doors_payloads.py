"""Webhook payloads (web form, chat platform, phone/CTI, bot) and how each becomes an :class:`InboundMessage`.

The door models ignore fields they do not know (a platform may add some); limits here keep each field within what
the message it becomes accepts, and anything still out of bounds fails that message's validation as a 422.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.schemas.common import (
    INT64_MAX,
    MAX_TEXT,
    Attachment,
    Channel,
    Classification,
    RequestedLine,
    Sender,
)
from shared.contracts.schemas.inbound import MAX_ATTACHMENTS, InboundMessage


class Accepted(BaseModel):
    message_id: str


class Question(BaseModel):
    topic: str | None = Field(None, max_length=200)
    type: str | None = Field(None, max_length=50)
    subtopic: str | None = Field(None, max_length=200)
    product: str | None = Field(None, max_length=200)

    def classification(self) -> Classification | None:
        if not any((self.topic, self.type, self.subtopic, self.product)):
            return None
        return Classification(topic=self.topic, type=self.type, subtopic=self.subtopic, product=self.product)


class FormSubmission(Question):
    """A web form or portal request."""

    submission_id: str = Field(min_length=1, max_length=200, description="The form's own id; dedupes resubmits")
    name: str | None = Field(None, max_length=300)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    contract_number: str | None = Field(None, max_length=100)
    subject: str | None = Field(None, max_length=1000)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    line: RequestedLine | None = Field(None, description="technical / plain / not_technical, as the client chose")
    more_questions: list[Question] = Field(default_factory=list, max_length=20)
    attachment_ids: list[str] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class ChatUser(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=320)


class ChatMessage(Question):
    """One message from the chat platform; the session identifies the conversation."""

    platform: str = Field("chat", min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    session_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    user: ChatUser
    text: str = Field("", max_length=MAX_TEXT)
    button: RequestedLine | None = Field(None, description="The line button the client pressed")
    attachment_ids: list[str] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class CallEvent(BaseModel):
    """End of a call from the telephony (CTI) system: answered and handled, missed, or voicemail."""

    call_id: str = Field(min_length=1, max_length=200)
    caller: str = Field(min_length=3, max_length=40, description="Caller's number, any format")
    called: str | None = Field(None, max_length=40)
    event: Literal["completed", "missed", "voicemail"] = "completed"
    ivr_choice: str | None = Field(None, max_length=10, description="IVR digit the caller pressed")
    duration_seconds: int | None = Field(None, ge=0, le=INT64_MAX)
    transcript: str = Field("", max_length=MAX_TEXT)
    topic: str | None = Field(None, max_length=200)
    type: str | None = Field(None, max_length=50)
    subtopic: str | None = Field(None, max_length=200)
    product: str | None = Field(None, max_length=200)


class BotMessage(Question):
    bot: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    conversation_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    user: ChatUser
    text: str = Field("", max_length=MAX_TEXT)
    requested_line: RequestedLine | None = None


def form_message(f: FormSubmission, attachments: list[Attachment]) -> InboundMessage:
    return InboundMessage(
        channel=Channel.web, external_id=f"form:{f.submission_id}", conversation_id=f"form:{f.submission_id}",
        sender=Sender(name=f.name, email=f.email, phone=f.phone), subject=f.subject, text=f.text,
        requested_line=f.line, classification=f.classification(),
        questions=[c for q in f.more_questions if (c := q.classification())], attachments=attachments,
        contract_number=f.contract_number, source_system="web-form")


def chat_message(c: ChatMessage, attachments: list[Attachment]) -> InboundMessage:
    return InboundMessage(
        channel=Channel.chat, external_id=f"{c.platform}:{c.message_id}",
        conversation_id=f"{c.platform}:{c.session_id}",
        sender=Sender(name=c.user.name, chat_id=f"{c.platform}:{c.user.id}", phone=c.user.phone,
                      email=c.user.email),
        text=c.text, requested_line=c.button, classification=c.classification(), attachments=attachments,
        source_system=c.platform)


def call_message(e: CallEvent, ivr_lines: dict[str, str]) -> InboundMessage:
    line = ivr_lines.get(e.ivr_choice or "")
    what = {"completed": "Call", "missed": "Missed call", "voicemail": "Voicemail"}[e.event]
    text = e.transcript or f"{what} from {e.caller}"
    q = Question(topic=e.topic, type=e.type, subtopic=e.subtopic, product=e.product)
    return InboundMessage(
        channel=Channel.phone, external_id=f"call:{e.call_id}", conversation_id=f"call:{e.call_id}",
        sender=Sender(phone=e.caller), subject=what, text=text,
        requested_line=RequestedLine(line) if line else None, classification=q.classification(),
        call={"call_id": e.call_id, "caller": e.caller, "called": e.called, "event": e.event,
              "missed": e.event == "missed", "ivr_choice": e.ivr_choice, "duration_seconds": e.duration_seconds},
        source_system="cti")


def bot_message(b: BotMessage) -> InboundMessage:
    return InboundMessage(
        channel=Channel.bot, external_id=f"{b.bot}:{b.message_id}", conversation_id=f"{b.bot}:{b.conversation_id}",
        sender=Sender(name=b.user.name, chat_id=f"{b.bot}:{b.user.id}", phone=b.user.phone, email=b.user.email),
        text=b.text, requested_line=b.requested_line, classification=b.classification(), source_system=b.bot)
