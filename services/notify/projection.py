"""Notify's own small view of a ticket, folded from ``tickets.events`` (no calls to other services).

It holds only what addressing a notification needs: the client's contact on the channel the
ticket came from, the last e-mail Message-ID to thread replies under, team, group, assignee,
classification and the client's language (the ledger's decision, recorded on ``TicketOpened``), and each
event's position, which orders one person's notices (``ordering.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import Classification, ClientRef, Sender
from shared.contracts.ticket_rules import status_after

MAX_REFERENCES = 20


class TicketView(BaseModel):
    ticket_id: str
    number: int | None = None
    subject: str | None = None
    channel: str | None = None
    status: str = "new"
    team_id: str | None = None
    group_id: str | None = None
    line: str | None = None
    assignee_id: str | None = None
    classification: Classification | None = None
    client_id: str | None = None
    client_key: str | None = Field(None, description="Preference key: contact_id, else client_id")
    client_name: str | None = None
    email: str | None = None
    phone: str | None = None
    chat_id: str | None = None
    conversation_id: str | None = None
    language: str | None = None
    last_email_message_id: str | None = None
    references: list[str] = Field(default_factory=list)
    opened_cause: str | None = Field(None, description="Command that opened it: its MessageReceived is not news")
    reopen_ids: list[str] = Field(default_factory=list, description="TicketReopened ids: replay-safe count")
    created_by: str | None = None
    parent_id: str | None = Field(None, description="Set on development sub-tickets: internal, no client notices")
    position: int = Field(0, description="Ticket events folded so far: grows with each, never repeats a value")
    resolutions: dict[str, int] = Field(default_factory=dict, description="TicketResolved id → its position, "
                                        "recorded once its notices are queued (ordering.py)")


def reopen_count(view: TicketView | None) -> int:
    return len(view.reopen_ids) if view else 0


def _sender(view: TicketView, sender: Sender) -> None:
    view.email = sender.email or view.email
    view.phone = sender.phone or view.phone
    view.chat_id = sender.chat_id or view.chat_id
    view.client_name = view.client_name or sender.name


def _client(view: TicketView, client: ClientRef | None) -> None:
    if client is None:
        return
    view.client_id = client.client_id
    view.client_key = client.contact_id or client.client_id
    view.client_name = client.client_name or view.client_name
    view.team_id = client.service_team_id or view.team_id


def apply(view: TicketView | None, env: Envelope, msg: Message) -> TicketView:
    """Fold one event; replaying a suffix of the partition in order converges to the same view (but its position)."""
    # a shallow copy with fresh containers: nothing below changes a nested model in place (a tenth of a deep copy)
    base = view or TicketView(ticket_id=env.ticket_id)
    v = base.model_copy(update={"references": list(base.references), "reopen_ids": list(base.reopen_ids),
                                "resolutions": dict(base.resolutions)})
    v.position += 1
    if (after := status_after(msg, v.assignee_id)) is not None:
        v.status = after.value
    if isinstance(msg, tickets.TicketOpened):
        v.number, v.subject, v.channel = msg.number, msg.subject, msg.channel.value
        v.group_id, v.line, v.classification = msg.group_id, msg.line, msg.classification
        v.opened_cause, v.created_by, v.parent_id = env.causation_id, msg.created_by, msg.parent_id
        _sender(v, msg.sender)
        _client(v, msg.client)
        v.language = msg.language or v.language
    elif isinstance(msg, tickets.MessageReceived):
        c = msg.content
        _sender(v, c.sender)
        v.conversation_id = c.conversation_id or v.conversation_id
        if c.email_message_id:
            chain = [r for r in (c.references or v.references) if r != c.email_message_id]
            v.references = (chain + [c.email_message_id])[-MAX_REFERENCES:]
            v.last_email_message_id = c.email_message_id
    elif isinstance(msg, tickets.TicketOffered):
        v.group_id = msg.group_id or v.group_id
        v.team_id = msg.service_team_id or v.team_id
        v.line, v.assignee_id = msg.line, None
    elif isinstance(msg, tickets.TicketAssigned):
        v.assignee_id = msg.agent_id
    elif isinstance(msg, tickets.WorkStarted):
        v.assignee_id = msg.agent_id
    elif isinstance(msg, tickets.TicketClassified):
        v.classification = msg.classification
    elif isinstance(msg, tickets.TicketEscalated):
        v.line, v.group_id, v.assignee_id = msg.to_line, msg.group_id, None
    elif isinstance(msg, tickets.ClientLinked):
        _client(v, msg.client)
        _sender(v, msg.sender)
    elif isinstance(msg, tickets.TicketResolved):
        _sender(v, msg.sender)
        _client(v, msg.client)
    elif isinstance(msg, tickets.TicketReopened):
        if env.id not in v.reopen_ids:
            v.reopen_ids.append(env.id)
    return v


def to_doc(view: TicketView) -> dict[str, Any]:
    return {**view.model_dump(mode="json"), "_id": view.ticket_id}


def from_doc(doc: dict[str, Any] | None) -> TicketView | None:
    if not doc:
        return None
    return TicketView.model_validate({k: v for k, v in doc.items() if not k.startswith("_")})
