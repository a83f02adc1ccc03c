"""The ticket state machine: which command is allowed in which state, and what it records.

``decide`` is pure: given the current ticket (or None), a command and the time,
it returns the events to record or raises :class:`Rejected` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ACTIVE_STATUSES, Channel, TicketStatus, TicketType
from shared.contracts.ticket import Ticket

S = TicketStatus
WORKING = frozenset({S.assigned, S.in_progress, S.waiting_customer})
OPEN_FOR_ROUTING = frozenset({S.new, S.offered})


@dataclass(frozen=True)
class LedgerRules:
    reopen_window: timedelta = timedelta(minutes=5)


class Rejected(Exception):
    def __init__(self, reason: str, code: str = "rejected") -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def _need(ticket: Ticket, allowed: frozenset[TicketStatus] | set[TicketStatus], action: str) -> None:
    if ticket.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Rejected(f"cannot {action} a ticket that is {ticket.status.value} (allowed: {names})", "invalid_state")


def _opened(ticket_id: str, cmd: t.OpenTicket | t.ReceiveMessage, number: int) -> t.TicketOpened:
    fields = cmd.model_dump(exclude={"content", "text", "review"})
    text = cmd.text if isinstance(cmd, t.OpenTicket) else cmd.content.text
    subject = cmd.subject or (cmd.content.subject if isinstance(cmd, t.ReceiveMessage) else None)
    fields["subject"] = subject
    return t.TicketOpened(**fields, number=number, text=text, unidentified=cmd.client is None)


def decide(
    ticket: Ticket | None,
    cmd: Message,
    now: datetime,
    *,
    next_number: int = 0,
    rules: LedgerRules = LedgerRules(),
) -> list[Message]:
    """Events for ``cmd``; an empty list means "already done" (idempotent no-op)."""
    if isinstance(cmd, t.OpenTicket):
        if ticket is not None:
            raise Rejected(f"ticket {ticket.id} already exists", "exists")
        return [_opened("", cmd, next_number)]
    if isinstance(cmd, t.ReceiveMessage):
        return _receive(ticket, cmd, now, next_number, rules)
    if ticket is None:
        raise Rejected("no such ticket", "not_found")
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        raise Rejected(f"the ledger does not accept {cmd.TYPE}", "unsupported")
    return handler(ticket, cmd, now, rules)


def _receive(ticket: Ticket | None, cmd: t.ReceiveMessage, now: datetime, number: int,
             rules: LedgerRules) -> list[Message]:
    if ticket is None:
        return [_opened("", cmd, number), t.MessageReceived(content=cmd.content), *_review(cmd)]
    key = f"{cmd.content.channel.value}:{cmd.content.external_id}"
    if key in ticket.external_ids:
        return []  # the same external message delivered again adds nothing
    events: list[Message] = []
    if ticket.status in (S.completed, S.closed):
        _reopen_allowed(ticket, now, rules)
    if ticket.status in (S.resolved, S.completed, S.closed):
        events.append(t.TicketReopened(reason="client wrote again", from_status=ticket.status.value))
    events.append(t.MessageReceived(content=cmd.content, reopened=bool(events)))
    if ticket.status == S.waiting_customer:
        events.append(t.TicketResumed(reason="client answered"))
    incoming = cmd.ticket_type
    if incoming.rank > ticket.ticket_type.rank:
        events.append(t.TicketClassified(
            classification=cmd.classification or ticket.classification or t.Classification(),
            ticket_type=incoming, urgency=ticket.urgency, priority=ticket.priority))
    # A later message never links the ticket to its sender's client: whoever cites a ticket is not proof
    # that it is theirs. Only the first message (on opening) or an agent's LinkClient sets the client.
    return [*events, *_review(cmd)]


def _review(cmd: t.ReceiveMessage) -> list[Message]:
    return [t.FlagChanged(flag=note.flag, value=True, reason=note.reason) for note in cmd.review]


def _reopen_allowed(ticket: Ticket, now: datetime, rules: LedgerRules) -> None:
    since = ticket.closed_at if ticket.status == S.closed else ticket.completed_at
    if since is not None and now - since > rules.reopen_window:
        minutes = rules.reopen_window.total_seconds() / 60
        raise Rejected(f"the ticket can be reopened only within {minutes:g} minutes of being "
                       f"{ticket.status.value}", "reopen_window_passed")


def _offer(ticket: Ticket, cmd: t.OfferTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "offer")
    if not cmd.agent_ids:
        raise Rejected("an offer needs at least one agent", "empty_offer")
    events: list[Message] = [t.TicketOffered(
        agent_ids=cmd.agent_ids, line=cmd.line, group_id=cmd.group_id, service_team_id=cmd.service_team_id,
        round=ticket.offer_round + 1, reason=cmd.reason)]
    if ticket.flags.get("nobody_available"):  # someone is available now: routing raised it, the offer answers it
        events.append(t.FlagChanged(flag="nobody_available", value=False,
                                    reason=f"offered to {', '.join(cmd.agent_ids)}"))
    return events


def _claim(ticket: Ticket, cmd: t.ClaimTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.assignee_id == cmd.agent_id and ticket.status in WORKING:
        raise Rejected("you already have this ticket", "already_yours")
    if ticket.status != S.offered:
        who = f" to {ticket.assignee_id}" if ticket.assignee_id else ""
        raise Rejected(f"ticket is {ticket.status.value}{who}; only offered tickets can be claimed", "already_claimed")
    if cmd.agent_id not in ticket.offered_to:
        raise Rejected("the ticket was not offered to you", "not_offered")
    return [t.TicketAssigned(agent_id=cmd.agent_id, mode="claim", previous_agent_id=ticket.previous_assignee_id)]


def _assign(ticket: Ticket, cmd: t.AssignTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if cmd.mode in ("auto", "night_shift", "team_lead", "claim"):
        # Automatic assignment never overrides a claim that reached the ledger first.
        if ticket.status not in OPEN_FOR_ROUTING:
            raise Rejected(f"ticket is already {ticket.status.value}; automatic assignment skipped", "already_claimed")
    else:
        _need(ticket, ACTIVE_STATUSES, "reassign")
    if ticket.assignee_id == cmd.agent_id:
        raise Rejected(f"ticket is already assigned to {cmd.agent_id}", "already_yours")
    events: list[Message] = [t.TicketAssigned(agent_id=cmd.agent_id, mode=cmd.mode, reason=cmd.reason,
                                              previous_agent_id=ticket.assignee_id or ticket.previous_assignee_id)]
    if cmd.mode in ("night_shift", "team_lead"):
        events.append(t.FlagChanged(flag=cmd.mode, value=True, reason=cmd.reason))
    if ticket.flags.get("lost"):
        events.append(t.FlagChanged(flag="lost", value=False, reason="reassigned"))
    return events


def _start(ticket: Ticket, cmd: t.StartWork, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.assigned}, "take into work")
    if ticket.assignee_id != cmd.agent_id:
        raise Rejected(f"the ticket is assigned to {ticket.assignee_id}", "not_assignee")
    return [t.WorkStarted(agent_id=cmd.agent_id)]


def _reply(ticket: Ticket, cmd: t.ReplyToClient, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, WORKING, "reply on")
    events: list[Message] = []
    if ticket.status == S.assigned:
        if ticket.assignee_id != cmd.agent_id:
            raise Rejected(f"the ticket is assigned to {ticket.assignee_id}", "not_assignee")
        events.append(t.WorkStarted(agent_id=cmd.agent_id))
    channel = ticket.channel if ticket.channel not in (Channel.system, Channel.agent) else Channel.email
    events.append(t.ReplySent(agent_id=cmd.agent_id, text=cmd.text, channel=channel,
                              first_response=ticket.first_response_at is None))
    return events


def _note(ticket: Ticket, cmd: t.AddNote, now: datetime, rules: LedgerRules) -> list[Message]:
    return [t.NoteAdded(author_id=cmd.author_id, text=cmd.text)]


def _hold(ticket: Ticket, cmd: t.PutOnHold, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.in_progress}, "put on hold")
    return [t.TicketPutOnHold(reason=cmd.reason)]


def _resume(ticket: Ticket, cmd: t.ResumeWork, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.waiting_customer}, "resume")
    return [t.TicketResumed(reason=cmd.reason)]


def _classify(ticket: Ticket, cmd: t.ClassifyTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES | {S.resolved}, "classify")
    return [t.TicketClassified(
        classification=cmd.classification, ticket_type=cmd.ticket_type or ticket.ticket_type,
        urgency=cmd.urgency or ticket.urgency, priority=cmd.priority or ticket.priority)]


def _escalate(ticket: Ticket, cmd: t.EscalateLine, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "escalate")
    if cmd.to_line == ticket.line:
        raise Rejected(f"the ticket is already on {cmd.to_line}", "same_line")
    return [t.TicketEscalated(from_line=ticket.line, to_line=cmd.to_line, handed_by=cmd.handed_by,
                              previous_agent_id=ticket.assignee_id, group_id=cmd.group_id, reason=cmd.reason)]


def _sub_ticket(ticket: Ticket, cmd: t.OpenSubTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "open a development sub-ticket on")
    if any(c.id == cmd.child_id for c in ticket.children):
        return []
    return [t.SubTicketOpened(child_id=cmd.child_id, opened_by=cmd.opened_by, summary=cmd.summary, line=cmd.line,
                              group_id=cmd.group_id)]


def _child(ticket: Ticket, cmd: t.UpdateChildStatus, now: datetime, rules: LedgerRules) -> list[Message]:
    child = next((c for c in ticket.children if c.id == cmd.child_id), None)
    if child is None:
        raise Rejected(f"{cmd.child_id} is not a sub-ticket of this ticket", "not_child")
    return [] if child.status == cmd.status else [t.ChildStatusUpdated(child_id=cmd.child_id, status=cmd.status)]


def _flag(ticket: Ticket, cmd: t.SetFlag, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.flags.get(cmd.flag, False) == cmd.value:
        return []
    return [t.FlagChanged(flag=cmd.flag, value=cmd.value, reason=cmd.reason)]


def _participant(ticket: Ticket, cmd: t.AddParticipant, now: datetime, rules: LedgerRules) -> list[Message]:
    if any(p.user_id == cmd.user_id and p.role == cmd.role for p in ticket.participants):
        return []
    return [t.ParticipantAdded(user_id=cmd.user_id, role=cmd.role, reason=cmd.reason)]


def _resolve(ticket: Ticket, cmd: t.ResolveTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, WORKING, "resolve")
    missing = [name for name, value in (("problem", cmd.problem), ("solution", cmd.solution)) if not value.strip()]
    if missing:
        raise Rejected("resolving needs both \"problem in the client's words\" and \"what was done to solve it\"; "
                       f"missing: {', '.join(missing)}", "resolution_fields_required")
    return [t.TicketResolved(agent_id=cmd.agent_id, problem=cmd.problem.strip(), solution=cmd.solution.strip(),
                             channel=ticket.channel, sender=ticket.sender, client=ticket.client)]


def _complete(ticket: Ticket, cmd: t.CompleteTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.status == S.completed:
        return []
    _need(ticket, {S.resolved}, "complete")
    return [t.TicketCompleted(reason=cmd.reason)]


def _close(ticket: Ticket, cmd: t.CloseTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.resolved, S.completed}, "close")
    open_children = [c.id for c in ticket.children if c.status in ACTIVE_STATUSES]
    reason = (cmd.reason or "").strip() or None
    if open_children and reason is None:
        raise Rejected(f"development sub-tickets {', '.join(open_children)} are still open; closing the ticket "
                       "over them needs a reason", "open_sub_tickets")
    return [t.TicketClosed(reason=reason, open_sub_tickets=open_children)]


def _reopen(ticket: Ticket, cmd: t.ReopenTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.resolved, S.completed, S.closed}, "reopen")
    _reopen_allowed(ticket, now, rules)
    return [t.TicketReopened(reason=cmd.reason, from_status=ticket.status.value)]


def _link(ticket: Ticket, cmd: t.LinkClient, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.client == cmd.client and not ticket.unidentified:
        return []
    previous = ticket.client.client_id if ticket.client is not None else None
    reason = (cmd.reason or "").strip() or None
    if previous is not None and reason is None:
        raise Rejected(f"the ticket is already linked to client {previous}; only a team lead re-links it, "
                       "with a reason", "already_identified")
    return [t.ClientLinked(client=cmd.client, sender=ticket.sender, linked_by=cmd.linked_by, reason=reason,
                           previous_client_id=previous)]


def _rate(ticket: Ticket, cmd: t.RecordRating, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.rating is not None:
        raise Rejected("this ticket has already been rated; a rating cannot be changed", "already_rated")
    _need(ticket, {S.resolved, S.completed}, "rate")
    events: list[Message] = [t.RatingRecorded(
        survey_id=cmd.survey_id, answer=cmd.answer, comment=cmd.comment,
        agent_id=ticket.resolution.agent_id if ticket.resolution else ticket.assignee_id,
        created_by=ticket.created_by)]
    if cmd.answer == "not_mine":
        events.append(t.FlagChanged(flag="fraud_suspected", value=True,
                                    reason="client says they did not open this request"))
    if ticket.status == S.resolved:
        events.append(t.TicketCompleted(reason="rated"))
    return events


def _callback(ticket: Ticket, cmd: t.LogCallback, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES | {S.resolved}, "log a call-back on")
    return [t.CallbackLogged(agent_id=cmd.agent_id, answered=cmd.answered, comment=cmd.comment, phone=cmd.phone)]


def _deadline(ticket: Ticket, cmd: t.SetDeadline, now: datetime, rules: LedgerRules) -> list[Message]:
    return [] if ticket.deadline == cmd.deadline else [t.DeadlineSet(deadline=cmd.deadline)]


def _notification(ticket: Ticket, cmd: t.RecordNotification, now: datetime, rules: LedgerRules) -> list[Message]:
    return [t.NotificationRecorded(**cmd.model_dump())]


_HANDLERS: dict[type[Message], Callable[[Ticket, Any, datetime, LedgerRules], list[Message]]] = {
    t.OfferTicket: _offer, t.ClaimTicket: _claim, t.AssignTicket: _assign, t.StartWork: _start,
    t.ReplyToClient: _reply, t.AddNote: _note, t.PutOnHold: _hold, t.ResumeWork: _resume,
    t.ClassifyTicket: _classify, t.EscalateLine: _escalate, t.OpenSubTicket: _sub_ticket,
    t.UpdateChildStatus: _child, t.SetFlag: _flag, t.AddParticipant: _participant, t.ResolveTicket: _resolve,
    t.CompleteTicket: _complete, t.CloseTicket: _close, t.ReopenTicket: _reopen, t.LinkClient: _link,
    t.RecordRating: _rate, t.LogCallback: _callback, t.SetDeadline: _deadline,
    t.RecordNotification: _notification,
}
COMMANDS: frozenset[type[Message]] = frozenset([*_HANDLERS, t.OpenTicket, t.ReceiveMessage])


def highest_type(*types: TicketType) -> TicketType:
    """Complaint > Request > Consultation."""
    return max(types, key=lambda x: x.rank)


def follow_ups(ticket: Ticket, events: list[Message]) -> list[tuple[str, Message]]:
    """Commands the ledger sends on after recording: to a child it opened, to a parent it reports to."""
    out: list[tuple[str, Message]] = []
    for ev in events:
        if isinstance(ev, t.SubTicketOpened):
            out.append((ev.child_id, t.OpenTicket(
                channel=Channel.agent, subject=f"[dev] {ticket.subject or ticket.number}", text=ev.summary,
                client=ticket.client, classification=ticket.classification, ticket_type=ticket.ticket_type,
                urgency=ticket.urgency, priority=ticket.priority, line=ev.line, group_id=ev.group_id,
                parent_id=ticket.id, created_by=ev.opened_by, sender=ticket.sender)))
    status_changed = any(isinstance(ev, (t.TicketOpened, t.TicketOffered, t.TicketAssigned, t.WorkStarted,
                                         t.TicketPutOnHold, t.TicketResumed, t.TicketResolved, t.TicketCompleted,
                                         t.TicketClosed, t.TicketReopened, t.TicketEscalated)) for ev in events)
    if ticket.parent_id and status_changed:
        out.append((ticket.parent_id, t.UpdateChildStatus(child_id=ticket.id, status=ticket.status.value)))
    return out
