"""Request and response bodies of the gateway API (with the examples the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.schemas.common import MAX_TEXT, Classification, ClientRef, Sender, TicketType
from shared.contracts.schemas.tickets import MAX_ATTACHMENTS
from shared.contracts.ticket import Ticket
from shared.directory.routing import Availability

from ..access.principal import UserRole
from ..queries.queues import Queue
from ..queries.sla_view import SlaView


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


TICKET_EXAMPLE: dict[str, Any] = {
    "id": "T-1", "number": 1042, "version": 5, "status": "in_progress", "channel": "email",
    "subject": "No internet since morning", "sender": {"email": "anna@client.example"},
    "client": {"client_id": "C-42", "client_name": "ACME", "service_team_id": "A"}, "unidentified": False,
    "line": "first", "service_team_id": "A", "assignee_id": "ann", "flags": {}, "last_message_from": "agent",
    "created_at": "2026-03-02T09:12:00Z", "updated_at": "2026-03-02T09:30:00Z",
    "status_changed_at": "2026-03-02T09:20:00Z", "first_response_at": "2026-03-02T09:30:00Z",
}


SurveyState = Literal["pending", "answered", "expired", "none"]


class PortalSurvey(BaseModel):
    """The satisfaction survey of the ticket's latest resolution."""

    state: SurveyState = Field(description="none: never asked, or withdrawn by a reopening")
    url: str | None = Field(None, description="The client's own signed survey page; only the ticket's client "
                                              "gets it, while the survey is pending or answered")


class TicketView(Ticket):
    """A ticket as the ledger keeps it; ``history`` only when asked for, ``sla`` when the SLA service tracks it."""

    model_config = ConfigDict(json_schema_extra={"examples": [TICKET_EXAMPLE]})

    history: list[dict[str, Any]] | None = None
    sla: SlaView | None = Field(None, description="Staff only: the SLA service's clock for this ticket, if any")
    survey: PortalSurvey | None = Field(None, description="One ticket only (never in lists): its survey")


class TicketPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [TICKET_EXAMPLE], "next_cursor": "WyJjcmVhdGVkX2F0Iiwt…", "limit": 50}]})

    items: list[TicketView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page")
    limit: int


class Accepted(BaseModel):
    """The ledger did not answer within the wait; the command is queued and will be processed."""

    command_id: str
    ticket_id: str
    status: Literal["pending"] = "pending"
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"command_id": "2f0c…", "ticket_id": "T-1", "status": "pending"}]})


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    model_config = _examples({"text": "We have restarted your router remotely; please check now."})


AttachmentIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(
    default_factory=list, max_length=MAX_ATTACHMENTS,
    description="Files you uploaded to this ticket (`POST /api/v1/tickets/{ticket_id}/attachments`), by id")]


class MessageBody(TextBody):
    """A reply, a note or a portal message, with the files it carries."""

    attachment_ids: AttachmentIds
    model_config = _examples({"text": "The corrected invoice is attached.", "attachment_ids": ["9f2c…"]})


class ReasonBody(BaseModel):
    reason: str | None = Field(None, max_length=2000)
    model_config = _examples({"reason": "waiting for the client's screenshots"})


class ClassifyBody(BaseModel):
    classification: Classification
    ticket_type: TicketType | None = None
    urgency: str | None = Field(None, max_length=100)
    priority: str | None = Field(None, max_length=100)
    model_config = _examples({"classification": {"topic": "internet", "type": "outage", "product": "fiber"},
                              "ticket_type": "complaint", "urgency": "urgent"})


class EscalateBody(BaseModel):
    to_line: str | None = Field(None, max_length=100, description="Default: the line the ticket's line escalates to; "
                                   "a line further up that chain may be named")
    group_id: str | None = Field(None, max_length=200)
    reason: str | None = Field(None, max_length=2000)
    model_config = _examples({"reason": "needs a network engineer"})


class SubTicketBody(BaseModel):
    summary: str = Field(min_length=1, max_length=MAX_TEXT)
    group_id: str | None = Field(None, max_length=200)
    model_config = _examples({"summary": "Billing export drops the last row"})


class ReassignBody(BaseModel):
    agent_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(None, max_length=2000)
    model_config = _examples({"agent_id": "bob", "reason": "Ann is on vacation"})


class ResolveBody(BaseModel):
    problem: str = Field(max_length=MAX_TEXT, description="The problem in the client's words (required, non-blank)")
    solution: str = Field(max_length=MAX_TEXT, description="What was done to solve it (required, non-blank)")
    model_config = _examples({"problem": "No internet since morning", "solution": "Replaced the faulty ONT"})


class LinkClientBody(BaseModel):
    client: ClientRef = Field(description="client_id (must exist), optionally a contract and contact of it; "
                                          "name, category and service team are taken from the directory")
    reason: str | None = Field(None, max_length=1000, description="Leads only: required to re-link an identified "
                                                                  "ticket (recorded in its history)")
    model_config = _examples({"client": {"client_id": "C-42", "contract_number": "ДГ-2026-0157"}},
                             {"client": {"client_id": "C-7"}, "reason": "Written on behalf of C-7, confirmed by phone"})


class CallbackBody(BaseModel):
    answered: bool
    comment: str | None = Field(None, max_length=5000)
    phone: str | None = Field(None, max_length=40)
    model_config = _examples({"answered": False, "comment": "no answer, will retry at 15:00", "phone": "+15551234567"})


BulkAction = Literal["start", "hold", "resume", "resolve", "reopen", "close"]


class BulkBody(BaseModel):
    ticket_ids: list[str] = Field(min_length=1, max_length=100)
    action: BulkAction
    reason: str | None = Field(None, max_length=2000)
    problem: str = Field("", max_length=MAX_TEXT)
    solution: str = Field("", max_length=MAX_TEXT)
    model_config = _examples({"ticket_ids": ["T-1", "T-2"], "action": "hold", "reason": "waiting for the client"})


class BulkItem(BaseModel):
    ticket_id: str
    outcome: Literal["done", "rejected", "pending", "not_found"]
    command_id: str | None = None
    status: str | None = Field(None, description="The ticket's status afterwards (done)")
    reason: str | None = None
    code: str | None = None


class BulkResult(BaseModel):
    results: list[BulkItem]


class AvailabilityBody(BaseModel):
    availability: Availability
    model_config = _examples({"availability": "lunch"})


class AgentView(BaseModel):
    id: str
    name: str
    availability: Availability
    line_ids: list[str]
    group_ids: list[str]
    team_ids: list[str]
    roles: list[str]


class AgentPage(BaseModel):
    items: list[AgentView]


class PortalTicketBody(BaseModel):
    subject: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    attachment_ids: AttachmentIds
    service_id: str | None = Field(None, min_length=1, max_length=200,
                                   description="A service from GET /api/v1/portal/catalogue")
    sub_service_id: str | None = Field(None, min_length=1, max_length=200,
                                       description="One of that service's sub-services")
    model_config = _examples({"subject": "Invoice question", "text": "Why was I charged twice in March?",
                              "service_id": "billing", "sub_service_id": "billing-invoices"})


class ApiKeyBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    role: UserRole = UserRole.specialist
    line_ids: list[str] = Field(default_factory=list, max_length=100)
    group_ids: list[str] = Field(default_factory=list, max_length=100)
    team_ids: list[str] = Field(default_factory=list, max_length=100)
    client_id: str | None = None
    expires_at: datetime | None = None
    model_config = _examples({"name": "crm-sync", "role": "administrator"})


class ApiKeyInfo(BaseModel):
    key_id: str
    name: str
    role: UserRole
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked: bool = False


class ApiKeyCreated(ApiKeyInfo):
    api_key: str = Field(description="Shown once; only its hash is stored")


class QueueCounts(BaseModel):
    """Per work queue, how many tickets ``GET /queues/{queue}`` lists for this agent (same filter, same scope), counted
    up to ``cap``: a badge needs "99+", not the exact size of a long queue, and counting stops there."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"agent_id": "ann", "counts": {
        "offers": 2, "mine": 5, "needs_reply": 99, "time_limit": 0, "overdue": 1, "at_risk": 1, "long_ignored": 0,
        "lost": 0, "unidentified": 4, "development": 0}, "cap": 99, "capped": ["needs_reply"]}]})

    agent_id: str = Field(description="Whose offers and tickets `offers` and `mine` count")
    counts: dict[Queue, int] = Field(description="At most `cap` each")
    cap: int = Field(description="The most a count says")
    capped: list[Queue] = Field(default_factory=list, description="Queues holding more than `cap` tickets "
                                                                  "(show their count as \"99+\")")


class TicketSummary(BaseModel):
    """A ticket in a short list (client card, team board): enough to show a row and open it."""

    id: str
    number: int
    subject: str | None = None
    status: str
    assignee_id: str | None = None
    deadline: datetime | None = Field(None, description="The client's deadline, if any")
    created_at: datetime
    updated_at: datetime


class RowClient(BaseModel):
    client_id: str | None = None
    client_name: str | None = None


class QueueRow(TicketSummary):
    """A ticket as one row of a work queue screen (``view=rows``): what the row shows and its claim button needs."""

    line: str | None = None
    client: RowClient | None = None
    sender: Sender | None = None
    offered_to: list[str] = Field(default_factory=list)


# The ticket fields a queue row reads: the database returns only these (the tickets' history stays where it is).
ROW_FIELDS = tuple(name for name in QueueRow.model_fields if name != "id")


def json_response(model: BaseModel) -> Response:
    """A model already validated, sent as is: a returned model is otherwise validated again against the route's
    ``response_model``."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json")


class QueueRowPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "id": "T-1", "number": 1042, "subject": "No internet since morning", "status": "offered", "line": "first",
        "client": {"client_id": "C-42", "client_name": "ACME"}, "sender": {"email": "anna@client.example"},
        "offered_to": ["ann"], "created_at": "2026-03-02T09:12:00Z", "updated_at": "2026-03-02T09:14:00Z"}],
        "next_cursor": None, "limit": 50}]})

    items: list[QueueRow]
    next_cursor: str | None = Field(None, description="Pass as `cursor` (with `view=rows`) for the next page")
    limit: int
