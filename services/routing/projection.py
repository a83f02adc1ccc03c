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
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import (
    FINISHED_STATUSES,
    WORKING_STATUSES,
    Classification,
    RequestedLine,
    TicketStatus,
)
from shared.contracts.ticket_rules import status_after

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
    # Escalations applied, sent with an offer so the ledger refuses one decided before a later escalation;
    # None for a view saved before they were counted.
    handovers: int | None = 0
    parent_id: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="For groups' field conditions")
    flags: dict[str, bool] = Field(default_factory=dict)
    updated_at: datetime | None = None
    # A timer routing scheduled for it (an offer's auto-assignment, a retry) may be pending: only then does a cancel
    # go to the database. Set before its timer is written, cleared once a cancel was; a stale True costs one delete.
    timers: bool = False
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
        data.setdefault("handovers", None)  # saved before escalations were counted: unknown, not none
        data.setdefault("timers", True)  # saved before it was tracked: it may have timers
        return cls.model_validate({"id": doc["_id"], **data})


# What routing's decisions read of a view's status: which of these groups it is in (``domain``: unassigned or
# offered, working, finished), never which working or finished status.
STATUS_GROUPS = {**{s: s.value for s in TicketStatus}, **dict.fromkeys(WORKING_STATUSES, "working"),
                 **dict.fromkeys(FINISHED_STATUSES, "finished")}
UNDECIDED = frozenset({"status", "updated_at", "applied", "timers"})
DECIDED = tuple(name for name in TicketView.model_fields if name not in UNDECIDED)


def needs_write(stored: TicketView | None, view: TicketView) -> bool:
    """Must ``view`` be saved over ``stored`` (the saved view, or one differing from it only as this allows)?

    Only when something routing decides on changed: a view read back after a restart or a rebalance then decides
    as this one would. Left in memory: which working or finished status it is, when, the events applied (a
    redelivered one is decided again, to the same ids) and a cleared timer mark (a stale one costs one delete)."""
    if stored is None:
        return True
    if view.timers and not stored.timers:
        return True  # before its timer is written: a cancel must find the mark
    if STATUS_GROUPS[view.status] != STATUS_GROUPS[stored.status]:
        return True
    return any(getattr(view, name) != getattr(stored, name) for name in DECIDED)


TRACKED: tuple[type[Message], ...] = (
    tickets.TicketOpened, tickets.TicketOffered, tickets.TicketAssigned, tickets.WorkStarted,
    tickets.TicketPutOnHold, tickets.TicketResumed, tickets.TicketClassified, tickets.TicketEscalated,
    tickets.FlagChanged, tickets.TicketResolved, tickets.TicketCompleted, tickets.TicketClosed,
    tickets.TicketReopened, tickets.ClientLinked, tickets.MessageReceived, tickets.CustomFieldsSet,
    tickets.TicketMerged,  # closed as merged: its timers go, as a closed ticket's do
)

# Events routing decides on but whose ``apply`` changes nothing it decides with, whatever the view (no status,
# no field): their view is not written, and a redelivered one is decided on again (the same ids).
UNCHANGING: tuple[type[Message], ...] = (tickets.MessageReceived,)


def apply(view: TicketView | None, env: Envelope, ev: Message) -> TicketView | None:
    """The view after ``ev``; None when routing has no view and the event does not open one."""
    if isinstance(ev, tickets.TicketOpened):
        view = TicketView(id=env.ticket_id, line=ev.line, requested_line=ev.requested_line, group_id=ev.group_id,
                          pinned_line=ev.line, pinned_group_id=ev.group_id,
                          service_team_id=ev.client.service_team_id if ev.client else None,
                          classification=ev.classification, urgency=ev.urgency, parent_id=ev.parent_id)
    elif view is None:
        return None
    else:
        # A new view, never the old one changed: only its two dicts are changed in place below (every other field
        # is replaced whole), so only they are copied (a deep copy was most of routing's own CPU per event).
        view = view.model_copy(update={"flags": dict(view.flags), "custom_fields": dict(view.custom_fields)})
    view.updated_at = env.occurred_at
    view.status = status_after(ev, view.assignee_id) or view.status
    match ev:
        case tickets.TicketOffered():
            if view.assignee_id:
                view.previous_assignee_id = view.assignee_id
            view.assignee_id, view.offered_to, view.offer_round = None, list(ev.agent_ids), ev.round
            view.line, view.group_id = ev.line, ev.group_id or view.group_id
            view.service_team_id = ev.service_team_id or view.service_team_id
        case tickets.TicketAssigned():
            view.assignee_id, view.offered_to = ev.agent_id, []
            view.previous_assignee_id = ev.previous_agent_id
        case tickets.TicketClassified():
            view.classification, view.urgency = ev.classification, ev.urgency
        case tickets.TicketEscalated():
            view.line, view.group_id = ev.to_line, ev.group_id
            view.pinned_line, view.pinned_group_id = ev.to_line, ev.group_id
            view.previous_assignee_id = ev.previous_agent_id
            view.assignee_id, view.offered_to = None, []
            view.handovers = None if view.handovers is None else view.handovers + 1
        case tickets.FlagChanged():
            view.flags[ev.flag] = ev.value
        case tickets.ClientLinked():
            view.service_team_id = ev.client.service_team_id or view.service_team_id
        case tickets.CustomFieldsSet():
            for name, value in ev.values.items():
                if value is None:
                    view.custom_fields.pop(name, None)
                else:
                    view.custom_fields[name] = value
    view.applied = [*view.applied, env.id][-APPLIED_KEEP:]
    return view
