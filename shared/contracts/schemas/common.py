"""Value objects shared by several messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_TEXT = 100_000
INT64_MAX = 2**63 - 1  # the largest integer MongoDB (BSON) stores
# Each unknown field is an error pydantic renders one by one; past a few, one error says it all.
MAX_UNKNOWN_FIELDS = 20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + MAX_UNKNOWN_FIELDS:
            raise ValueError(f"at least {len(data) - len(cls.model_fields)} unknown fields; "
                             f"at most {MAX_UNKNOWN_FIELDS} are named one by one")
        return data


class Channel(StrEnum):
    email = "email"
    chat = "chat"
    phone = "phone"
    web = "web"
    bot = "bot"
    system = "system"
    agent = "agent"


class TicketStatus(StrEnum):
    new = "new"
    offered = "offered"
    assigned = "assigned"
    in_progress = "in_progress"
    waiting_customer = "waiting_customer"
    resolved = "resolved"
    completed = "completed"
    closed = "closed"


# The status groups, declared once. TicketStatus is a StrEnum, so a follower keeping the status as a plain string
# tests membership in the same sets.
UNASSIGNED_STATUSES = frozenset({TicketStatus.new, TicketStatus.offered})  # in the queue, nobody's yet
WORKING_STATUSES = frozenset({TicketStatus.assigned, TicketStatus.in_progress, TicketStatus.waiting_customer})
ACTIVE_STATUSES = UNASSIGNED_STATUSES | WORKING_STATUSES  # unresolved
FINISHED_STATUSES = frozenset({TicketStatus.resolved, TicketStatus.completed, TicketStatus.closed})


class TicketType(StrEnum):
    """Ordered by priority: a ticket raising several questions takes the highest."""

    consultation = "consultation"
    request = "request"
    complaint = "complaint"

    @property
    def rank(self) -> int:
        return {"consultation": 1, "request": 2, "complaint": 3}[self.value]


class RequestedLine(StrEnum):
    """The client's own choice (IVR digit, chat button, form field)."""

    technical = "technical"
    plain = "plain"
    not_technical = "not_technical"


class Sender(Strict):
    """Who wrote: whatever identity the channel gives us."""

    name: str | None = Field(None, max_length=300)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40, description="E.164")
    chat_id: str | None = Field(None, max_length=200)


class ClientRef(Strict):
    client_id: str
    client_name: str | None = None
    contract_id: str | None = None
    contract_number: str | None = None
    category: str | None = Field(None, description="Client category: Premium / Business / Standard …")
    service_team_id: str | None = None
    contact_id: str | None = None


class Classification(Strict):
    topic: str | None = None
    type: str | None = None
    subtopic: str | None = None
    product: str | None = None
    service_id: str | None = None
    sub_service_id: str | None = None


class Attachment(Strict):
    id: str = Field(description="GridFS file id")
    filename: str = Field(max_length=500)
    content_type: str = "application/octet-stream"
    size: int = Field(ge=0, le=INT64_MAX)


class InboundContent(Strict):
    """One client message as it reached us."""

    message_id: str
    channel: Channel
    external_id: str = Field(description="Channel's own id: e-mail Message-ID, chat message id, call id…")
    conversation_id: str | None = None
    subject: str | None = Field(None, max_length=1000)
    text: str = Field("", max_length=MAX_TEXT)
    sender: Sender
    received_at: datetime
    attachments: list[Attachment] = Field(default_factory=list)
    email_message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    call: dict[str, str | int | bool | None] | None = Field(
        None, description="Phone channel: caller, call id, IVR choice, missed"
    )
