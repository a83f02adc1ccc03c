"""The ``inbound.messages`` contract: what other systems (and our own webhooks) publish.

Records on this topic are bare :class:`InboundMessage` JSON (not an envelope: the
sender does not know a ticket id). Keyed by ``channel:conversation`` so one
conversation's messages stay in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.contracts.schemas.common import (
    INT64_MAX,
    MAX_TEXT,
    Attachment,
    Channel,
    Classification,
    RequestedLine,
    Sender,
    Strict,
    TicketType,
)

INBOUND_SCHEMA_VERSION = 1
MAX_REFERENCES = 100
MAX_ATTACHMENTS = 20
MAX_MESSAGE_ID = 500

# RFC 5322 msg-id, <local@domain>, with nothing that could end a header line or start another: these ids are
# written back into the In-Reply-To and References of our replies.
MESSAGE_ID_SHAPE = r"<[^<>@\s\x00-\x1f\x7f]+@[^<>@\s\x00-\x1f\x7f]+>"
MessageId = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_ID, pattern=f"^{MESSAGE_ID_SHAPE}$")]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
CallKey = Annotated[str, StringConstraints(max_length=50)]
CallValue = Annotated[str, StringConstraints(max_length=500)] | Int64 | bool | None


class InboundMessage(Strict):
    schema_version: Literal[1] = 1
    message_id: str | None = Field(None, max_length=200, description="Our id; intake assigns one when absent")
    channel: Channel
    external_id: str = Field(min_length=1, max_length=500, description="Unique per channel; dedupes retries")
    conversation_id: str | None = Field(None, max_length=500, description="Chat session, call id, e-mail thread")
    sender: Sender
    subject: str | None = Field(None, max_length=1000)
    text: str = Field("", max_length=MAX_TEXT)
    received_at: datetime | None = None
    requested_line: RequestedLine | None = None
    classification: Classification | None = None
    questions: list[Classification] = Field(
        default_factory=list, max_length=20,
        description="Further questions raised in the same contact; the ticket takes the highest type")
    ticket_type: TicketType | None = None
    deadline: datetime | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    email_message_id: MessageId | None = None
    in_reply_to: MessageId | None = None
    references: list[MessageId] = Field(default_factory=list, max_length=MAX_REFERENCES,
                                        description="The thread's ids, oldest first; the newest are kept")
    auto_submitted: bool = Field(False, description="Auto-reply / bounce / bulk: opens nothing")
    call: dict[CallKey, CallValue] | None = Field(None, max_length=20)
    source_system: str | None = Field(None, max_length=200)
    contract_number: str | None = Field(None, max_length=100, description="Contract the client named, if any")

    def key(self) -> str:
        s = self.sender
        return f"{self.channel.value}:{self.conversation_id or s.email or s.phone or s.chat_id or self.external_id}"
