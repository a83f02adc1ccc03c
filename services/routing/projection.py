"""Routing's own small view of each ticket, kept from ``tickets.events``.

Why a projection: deciding on a client message or a due timer must not re-read the
ledger. It mirrors only what routing decides with; ``apply`` is pure and follows
the ledger's own ``evolve`` for these fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Classification, RequestedLine, TicketStatus

S = TicketStatus
WORKING = frozenset({S.assigned, S.in_progress, S.waiting_customer})
UNASSIGNED = frozenset({S.new, S.offered})
FINISHED = frozenset({S.resolved, S.completed, S.closed})
APPLIED_KEEP = 64


class TicketView(BaseModel):
    id: str
    status: TicketStatus = TicketStatus.new
    line: str | None = None
    # The line / group fixed on opening or by an escalation (not routing's own choice): a reclassification keeps them.
    pinned_line: str | None = None
    pinned_group_id: str | None = None
    requested_line: RequestedLine | None = None
    group_id: str | None = None
    service_team_id: str | None = None
    classification: Classification | None = None
    urgency: str = "normal"
    assignee_id: str | None = None
    previous_assignee_id: str | None = None
    offered_to: list[str] = Field(default_factory=list)
    offer_round: int = 0
    parent_id: str | None = None
    flags: dict[str, bool] = Field(default_factory=dict)
    updated_at: datetime | None = None
    # Ids of the last events applied: a redelivered event is not applied twice.
    applied: list[str] = Field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python")
        doc["_id"] = doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TicketView:
        data = {k: v for k, v in doc.items() if not k.startswith("_")}
        if "pinned_line" not in data:  # a view saved before pinning was tracked: never move it off its line
            data["pinned_line"], data["pinned_group_id"] = data.get("line"), data.get("group_id")
        return cls.model_validate({"id": doc["_id"], **data})


TRACKED: tuple[type[Message], ...] = (
    t.TicketOpened, t.TicketOffered, t.TicketAssigned, t.WorkStarted, t.TicketPutOnHold, t.TicketResumed,
    t.TicketClassified, t.TicketEscalated, t.FlagChanged, t.TicketResolved, t.TicketCompleted, t.TicketClosed,
    t.TicketReopened, t.ClientLinked, t.MessageReceived,
)


def apply(view: TicketView | None, env: Envelope, ev: Message) -> TicketView | None:
    """The view after ``ev``; None when routing has no view and the event does not open one."""
    if isinstance(ev, t.TicketOpened):
        view = TicketView(id=env.ticket_id, line=ev.line, requested_line=ev.requested_line, group_id=ev.group_id,
                          pinned_line=ev.line, pinned_group_id=ev.group_id,
                          service_team_id=ev.client.service_team_id if ev.client else None,
                          classification=ev.classification, urgency=ev.urgency, parent_id=ev.parent_id)
    elif view is None:
        return None
    else:
        view = view.model_copy(deep=True)
    view.updated_at = env.occurred_at
    match ev:
        case t.TicketOffered():
            view.status = S.offered
            if view.assignee_id:
                view.previous_assignee_id = view.assignee_id
            view.assignee_id, view.offered_to, view.offer_round = None, list(ev.agent_ids), ev.round
            view.line, view.group_id = ev.line, ev.group_id or view.group_id
            view.service_team_id = ev.service_team_id or view.service_team_id
        case t.TicketAssigned():
            view.status, view.assignee_id, view.offered_to = S.assigned, ev.agent_id, []
            view.previous_assignee_id = ev.previous_agent_id
        case t.WorkStarted() | t.TicketResumed():
            view.status = S.in_progress
        case t.TicketPutOnHold():
            view.status = S.waiting_customer
        case t.TicketClassified():
            view.classification, view.urgency = ev.classification, ev.urgency
        case t.TicketEscalated():
            view.line, view.group_id = ev.to_line, ev.group_id
            view.pinned_line, view.pinned_group_id = ev.to_line, ev.group_id
            view.previous_assignee_id = ev.previous_agent_id
            view.assignee_id, view.offered_to, view.status = None, [], S.new
        case t.FlagChanged():
            view.flags[ev.flag] = ev.value
        case t.TicketResolved():
            view.status = S.resolved
        case t.TicketCompleted():
            view.status = S.completed
        case t.TicketClosed():
            view.status = S.closed
        case t.TicketReopened():
            view.status = S.in_progress if view.assignee_id else S.new
        case t.ClientLinked():
            view.service_team_id = ev.client.service_team_id or view.service_team_id
    view.applied = [*view.applied, env.id][-APPLIED_KEEP:]
    return view
