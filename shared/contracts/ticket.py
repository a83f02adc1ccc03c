"""The ticket as the ledger keeps it, and how each event changes it (``evolve``)."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import (
    Channel,
    Classification,
    ClientRef,
    RequestedLine,
    Sender,
    TicketStatus,
    TicketType,
)
from shared.contracts.ticket_rules import status_after


class Handover(BaseModel):
    """One hand-off between lines: who handed it, who took it, when."""

    from_line: str | None
    to_line: str
    handed_by: str
    handed_at: datetime
    previous_agent_id: str | None = None
    taken_by: str | None = None
    taken_at: datetime | None = None


class ChildRef(BaseModel):
    id: str
    status: str = "new"
    line: str = "development"
    group_id: str | None = None
    opened_by: str | None = None


class Participant(BaseModel):
    user_id: str
    role: str


class Resolution(BaseModel):
    agent_id: str
    problem: str
    solution: str
    at: datetime


class Rating(BaseModel):
    survey_id: str
    answer: str
    comment: str | None = None
    at: datetime


class Ticket(BaseModel):
    id: str
    number: int
    version: int = 0
    status: TicketStatus = TicketStatus.new
    channel: Channel
    subject: str | None = None
    sender: Sender = Field(default_factory=Sender)
    client: ClientRef | None = None
    unidentified: bool = False
    language: str | None = Field(None, description="The client's language, decided on opening (TicketOpened)")
    classification: Classification | None = None
    ticket_type: TicketType = TicketType.request
    urgency: str = "normal"
    priority: str = "normal"
    requested_line: RequestedLine | None = None
    line: str | None = None
    group_id: str | None = None
    service_team_id: str | None = None
    offered_to: list[str] = Field(default_factory=list)
    offer_round: int = 0
    assignee_id: str | None = None
    previous_assignee_id: str | None = None
    assigned_at: datetime | None = None
    participants: list[Participant] = Field(default_factory=list)
    flags: dict[str, bool] = Field(default_factory=dict)
    parent_id: str | None = None
    children: list[ChildRef] = Field(default_factory=list)
    deadline: datetime | None = None
    created_by: str | None = None
    handovers: list[Handover] = Field(default_factory=list)
    resolution: Resolution | None = None
    rating: Rating | None = None
    external_ids: list[str] = Field(default_factory=list)
    email_message_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)
    message_count: int = 0
    last_message_from: str | None = None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    first_response_at: datetime | None = None
    work_started_at: datetime | None = None
    last_client_message_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    waiting_since: datetime | None = None
    resolved_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_count: int = 0
    tags: list[str] = Field(default_factory=list, description="Tags in the order they were added (TagsChanged)")
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="Ticket-level custom field values by "
                                          "field id, as the ledger stored them (CustomFieldsSet)")
    merged_into: str | None = Field(None, description="Closed as merged into this ticket (TicketMerged)")
    merged_from: list[str] = Field(default_factory=list, description="Tickets merged into this one (TicketAbsorbed)")
    split_from: str | None = Field(None, description="The ticket this one was split from (TicketAbsorbed)")
    split_into: list[str] = Field(default_factory=list, description="Tickets split from this one (TicketSplit)")

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python")
        doc["_id"] = doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Ticket:
        data = {k: v for k, v in doc.items() if k not in ("_id", "history", "processed_commands")}
        return cls.model_validate({"id": doc["_id"], **data})


def open_ticket(env: Envelope, ev: tickets.TicketOpened) -> Ticket:
    at = env.occurred_at
    return Ticket(
        id=env.ticket_id, number=ev.number, channel=ev.channel, subject=ev.subject, sender=ev.sender,
        client=ev.client, unidentified=ev.unidentified, language=ev.language, classification=ev.classification,
        ticket_type=ev.ticket_type, urgency=ev.urgency, priority=ev.priority, requested_line=ev.requested_line,
        line=ev.line, group_id=ev.group_id,
        service_team_id=ev.client.service_team_id if ev.client else None,
        parent_id=ev.parent_id, deadline=ev.deadline, created_by=ev.created_by,
        created_at=at, updated_at=at, status_changed_at=at,
    )


def evolve(ticket: Ticket | None, env: Envelope, ev: Message) -> Ticket:
    """Apply one recorded event. Pure: the same history always rebuilds the same ticket."""
    if isinstance(ev, tickets.TicketOpened):
        ticket = open_ticket(env, ev)
        ticket.version = 1
        return ticket
    if ticket is None:
        raise ValueError(f"{env.type} before TicketOpened on {env.ticket_id}")
    ticket = _copy(ticket)
    at = env.occurred_at
    ticket.updated_at = at
    ticket.version += 1
    if (after := status_after(ev, ticket.assignee_id)) is not None and after != ticket.status:
        ticket.status, ticket.status_changed_at = after, at
    match ev:
        case tickets.MessageReceived(content=c):
            ticket.external_ids.append(f"{c.channel.value}:{c.external_id}")
            if c.email_message_id:
                ticket.email_message_ids.append(c.email_message_id)
            if c.conversation_id and c.conversation_id not in ticket.conversation_ids:
                ticket.conversation_ids.append(c.conversation_id)
            ticket.message_count += 1
            ticket.last_message_from = "client"
            ticket.last_client_message_at = at
        case tickets.TicketOffered():
            if ticket.assignee_id:
                ticket.previous_assignee_id = ticket.assignee_id
            ticket.assignee_id, ticket.assigned_at = None, None
            ticket.offered_to = list(ev.agent_ids)
            ticket.offer_round = ev.round
            ticket.line, ticket.group_id = ev.line, ev.group_id or ticket.group_id
            ticket.service_team_id = ev.service_team_id or ticket.service_team_id
        case tickets.TicketAssigned():
            ticket.previous_assignee_id = ev.previous_agent_id
            ticket.assignee_id, ticket.assigned_at, ticket.offered_to = ev.agent_id, at, []
            ticket.work_started_at = None
            if ticket.handovers and ticket.handovers[-1].taken_by is None:
                ticket.handovers[-1].taken_by, ticket.handovers[-1].taken_at = ev.agent_id, at
        case tickets.WorkStarted():
            ticket.work_started_at = at
        case tickets.ReplySent():
            ticket.last_message_from = "agent"
            ticket.last_agent_reply_at = at
            ticket.first_response_at = ticket.first_response_at or at
            ticket.message_count += 1
        case tickets.TicketPutOnHold():
            ticket.waiting_since = at
        case tickets.TicketResumed():
            ticket.waiting_since = None
        case tickets.TicketClassified():
            ticket.classification, ticket.ticket_type = ev.classification, ev.ticket_type
            ticket.urgency, ticket.priority = ev.urgency, ev.priority
        case tickets.TicketEscalated():
            ticket.handovers.append(Handover(from_line=ev.from_line, to_line=ev.to_line, handed_by=ev.handed_by,
                                             handed_at=at, previous_agent_id=ev.previous_agent_id))
            ticket.line = ev.to_line
            ticket.group_id = ev.group_id
            ticket.previous_assignee_id = ev.previous_agent_id
            ticket.assignee_id, ticket.assigned_at, ticket.offered_to = None, None, []
            ticket.flags["escalated"] = True
        case tickets.SubTicketOpened():
            ticket.children.append(ChildRef(id=ev.child_id, line=ev.line, group_id=ev.group_id,
                                            opened_by=ev.opened_by))
            ticket.flags["passed_to_development"] = True
        case tickets.ChildStatusUpdated():
            for child in ticket.children:
                if child.id == ev.child_id:
                    child.status = ev.status
        case tickets.FlagChanged():
            ticket.flags[ev.flag] = ev.value
        case tickets.ParticipantAdded():
            ticket.participants.append(Participant(user_id=ev.user_id, role=ev.role))
        case tickets.TicketResolved():
            ticket.resolution = Resolution(agent_id=ev.agent_id, problem=ev.problem, solution=ev.solution, at=at)
            ticket.resolved_at = at
            ticket.waiting_since = None
        case tickets.TicketCompleted():
            ticket.completed_at = at
        case tickets.TicketClosed():
            ticket.closed_at = at
        case tickets.TicketReopened():
            ticket.reopened_count += 1
            ticket.resolved_at = ticket.completed_at = ticket.closed_at = None
            ticket.resolution = None  # it did not hold: the TicketResolved in the history keeps what it said
        case tickets.ClientLinked():
            ticket.client = ev.client
            ticket.unidentified = False
            ticket.service_team_id = ev.client.service_team_id or ticket.service_team_id
        case tickets.RatingRecorded():
            ticket.rating = Rating(survey_id=ev.survey_id, answer=ev.answer, comment=ev.comment, at=at)
        case tickets.DeadlineSet():
            ticket.deadline = ev.deadline
        case tickets.TagsChanged():
            kept = [t for t in ticket.tags if t not in ev.removed]
            ticket.tags = kept + [t for t in ev.added if t not in kept]
        case tickets.CustomFieldsSet():
            for name, value in ev.values.items():
                if value is None:
                    ticket.custom_fields.pop(name, None)
                else:
                    ticket.custom_fields[name] = value
        case (tickets.NoteAdded() | tickets.CallbackLogged() | tickets.NotificationRecorded()
              | tickets.CommandRejected()):
            pass
        case tickets.TicketMerged() | tickets.TicketSplit() | tickets.TicketAbsorbed() | tickets.MessageForwarded():
            _merge_or_split(ticket, ev, at)
        case _:
            raise ValueError(f"ledger does not know how to apply {env.type}")
    return ticket


def _copy(ticket: Ticket) -> Ticket:
    """A copy ``evolve`` may change without touching ``ticket``: its lists and dicts (and what is in them) are
    copied, the rest is shared, since an event replaces a nested model or scalar but never changes one in place.
    A deep copy of the whole ticket was the ledger's largest cost per command."""
    copy = ticket.model_copy()  # shallow; keeps which fields were set, which the ledger's writes rely on
    fields = copy.__dict__
    for name, value in ticket.__dict__.items():
        if type(value) is list:  # an empty one too: the copy's appends must not land in the given ticket
            fields[name] = value.copy() if all(type(v) is str for v in value) else deepcopy(value)
        elif type(value) is dict:
            fields[name] = deepcopy(value) if value else {}
    return copy


def _merge_or_split(ticket: Ticket, ev: Message, at: datetime) -> None:
    """Merge and split (issue 22): the links both ways, and on the receiving ticket what the moved messages bring."""
    match ev:
        case tickets.TicketMerged():
            ticket.merged_into, ticket.closed_at = ev.target_id, at
        case tickets.TicketSplit():
            ticket.split_into.append(ev.new_ticket_id)
        case tickets.MessageForwarded():
            ticket.external_ids.append(f"{ev.content.channel.value}:{ev.content.external_id}")
        case tickets.TicketAbsorbed():
            if ev.kind == "merge":
                ticket.merged_from.append(ev.from_ticket_id)
            else:
                ticket.split_from = ev.from_ticket_id
            for c in ev.messages:
                key = f"{c.channel.value}:{c.external_id}"
                if key not in ticket.external_ids:
                    ticket.external_ids.append(key)
                if c.email_message_id and c.email_message_id not in ticket.email_message_ids:
                    ticket.email_message_ids.append(c.email_message_id)
                if c.conversation_id and c.conversation_id not in ticket.conversation_ids:
                    ticket.conversation_ids.append(c.conversation_id)
            ticket.message_count += len(ev.messages) + len(ev.replies)
            known = {(p.user_id, p.role) for p in ticket.participants}
            ticket.participants += [Participant(user_id=p.user_id, role=p.role) for p in ev.participants
                                    if (p.user_id, p.role) not in known]
