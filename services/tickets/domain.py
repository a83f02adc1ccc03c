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
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    UNASSIGNED_STATUSES,
    WORKING_STATUSES,
    Channel,
    TicketStatus,
    TicketType,
)
from shared.contracts.schemas.tickets import StatusChange
from shared.contracts.ticket import Ticket
from shared.contracts.ticket_rules import reopen_window_open, reopened_status, same_client
from shared.directory.custom_fields import CustomField, check_values, missing_required

from .moves import Entry, already_split, client_messages, collect, movable_ids, move_follow_ups

S = TicketStatus


@dataclass(frozen=True)
class LedgerRules:
    reopen_window: timedelta = timedelta(minutes=5)
    # The custom-fields directory as the handler read it for this command (only commands that check fields).
    custom_fields: tuple[CustomField, ...] = ()
    # Merge and split: the other ticket of a merge and this ticket's history, as the handler read them.
    merge_target: Ticket | None = None
    history: tuple[Entry, ...] = ()


class Rejected(Exception):
    def __init__(self, reason: str, code: str = "rejected") -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def _need(ticket: Ticket, allowed: frozenset[TicketStatus] | set[TicketStatus], action: str) -> None:
    if ticket.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Rejected(f"cannot {action} a ticket that is {ticket.status.value} (allowed: {names})", "invalid_state")


def _opened(ticket_id: str, cmd: tickets.OpenTicket | tickets.ReceiveMessage, number: int) -> tickets.TicketOpened:
    fields = cmd.model_dump(exclude={"content", "text", "review", "new_ticket"})
    text = cmd.text if isinstance(cmd, tickets.OpenTicket) else cmd.content.text
    subject = cmd.subject or (cmd.content.subject if isinstance(cmd, tickets.ReceiveMessage) else None)
    fields["subject"] = subject
    return tickets.TicketOpened(**fields, number=number, text=text, unidentified=cmd.client is None)


def decide(
    ticket: Ticket | None,
    cmd: Message,
    now: datetime,
    *,
    next_number: int = 0,
    rules: LedgerRules = LedgerRules(),
) -> list[Message]:
    """Events for ``cmd``; an empty list means "already done" (idempotent no-op)."""
    if isinstance(cmd, tickets.OpenTicket):
        if ticket is not None:
            raise Rejected(f"ticket {ticket.id} already exists", "exists")
        return [_opened("", cmd, next_number)]
    if isinstance(cmd, tickets.ReceiveMessage):
        if ticket is not None and ticket.merged_into:
            return _forward(ticket, cmd)
        return _receive(ticket, cmd, now, next_number, rules)
    if ticket is None:
        raise Rejected("no such ticket", "not_found")
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        raise Rejected(f"the ledger does not accept {cmd.TYPE}", "unsupported")
    return handler(ticket, cmd, now, rules)


def _receive(ticket: Ticket | None, cmd: tickets.ReceiveMessage, now: datetime, number: int,
             rules: LedgerRules) -> list[Message]:
    if ticket is None:
        return [_opened("", cmd, number), tickets.MessageReceived(content=cmd.content), *_review(cmd)]
    key = f"{cmd.content.channel.value}:{cmd.content.external_id}"
    if key in ticket.external_ids:
        return []  # the same external message delivered again adds nothing
    events: list[Message] = []
    if ticket.status in FINISHED_STATUSES:
        events.append(_reopened(ticket, "client wrote again", now, rules))
    events.append(tickets.MessageReceived(content=cmd.content, reopened=bool(events)))
    if ticket.status == S.waiting_customer:
        events.append(tickets.TicketResumed(reason="client answered"))
    incoming = cmd.ticket_type
    if incoming.rank > ticket.ticket_type.rank:
        events.append(tickets.TicketClassified(
            classification=cmd.classification or ticket.classification or tickets.Classification(),
            ticket_type=incoming, urgency=ticket.urgency, priority=ticket.priority))
    # A later message never links the ticket to its sender's client: whoever cites a ticket is not proof
    # that it is theirs. Only the first message (on opening) or an agent's LinkClient sets the client.
    return [*events, *_review(cmd)]


def _review(cmd: tickets.ReceiveMessage) -> list[Message]:
    return [tickets.FlagChanged(flag=note.flag, value=True, reason=note.reason) for note in cmd.review]


def _reopened(ticket: Ticket, reason: str | None, now: datetime, rules: LedgerRules) -> tickets.TicketReopened:
    if not reopen_window_open(ticket.status, closed_at=ticket.closed_at, completed_at=ticket.completed_at, now=now,
                              window=rules.reopen_window):
        minutes = rules.reopen_window.total_seconds() / 60
        raise Rejected(f"the ticket can be reopened only within {minutes:g} minutes of being "
                       f"{ticket.status.value}", "reopen_window_passed")
    return tickets.TicketReopened(reason=reason, from_status=ticket.status.value,
                                  status_after=reopened_status(ticket.assignee_id))


def _offer(ticket: Ticket, cmd: tickets.OfferTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "offer")
    if not cmd.agent_ids:
        raise Rejected("an offer needs at least one agent", "empty_offer")
    if cmd.handovers_seen is not None and cmd.handovers_seen != len(ticket.handovers):
        raise Rejected("the ticket was escalated after this offer was decided", "stale_offer")
    events: list[Message] = [tickets.TicketOffered(
        agent_ids=cmd.agent_ids, line=cmd.line, group_id=cmd.group_id, service_team_id=cmd.service_team_id,
        round=ticket.offer_round + 1, reason=cmd.reason)]
    if ticket.flags.get("nobody_available"):  # someone is available now: routing raised it, the offer answers it
        events.append(tickets.FlagChanged(flag="nobody_available", value=False,
                                          reason=f"offered to {', '.join(cmd.agent_ids)}"))
    return events


def _claim(ticket: Ticket, cmd: tickets.ClaimTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.assignee_id == cmd.agent_id and ticket.status in WORKING_STATUSES:
        raise Rejected("you already have this ticket", "already_yours")
    if ticket.status != S.offered:
        who = f" to {ticket.assignee_id}" if ticket.assignee_id else ""
        raise Rejected(f"ticket is {ticket.status.value}{who}; only offered tickets can be claimed", "already_claimed")
    if cmd.agent_id not in ticket.offered_to:
        raise Rejected("the ticket was not offered to you", "not_offered")
    return [tickets.TicketAssigned(agent_id=cmd.agent_id, mode="claim", previous_agent_id=ticket.previous_assignee_id)]


def _assign(ticket: Ticket, cmd: tickets.AssignTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if cmd.mode in ("auto", "night_shift", "team_lead", "claim"):
        # Automatic assignment never overrides a claim that reached the ledger first.
        if ticket.status not in UNASSIGNED_STATUSES:
            raise Rejected(f"ticket is already {ticket.status.value}; automatic assignment skipped", "already_claimed")
    else:
        _need(ticket, ACTIVE_STATUSES, "reassign")
    if ticket.assignee_id == cmd.agent_id:
        raise Rejected(f"ticket is already assigned to {cmd.agent_id}", "already_yours")
    previous = ticket.assignee_id or ticket.previous_assignee_id
    events: list[Message] = [tickets.TicketAssigned(agent_id=cmd.agent_id, mode=cmd.mode, reason=cmd.reason,
                                                    previous_agent_id=previous)]
    if cmd.mode in ("night_shift", "team_lead"):
        events.append(tickets.FlagChanged(flag=cmd.mode, value=True, reason=cmd.reason))
    if ticket.flags.get("lost"):
        events.append(tickets.FlagChanged(flag="lost", value=False, reason="reassigned"))
    return events


def _start(ticket: Ticket, cmd: tickets.StartWork, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.assigned}, "take into work")
    if ticket.assignee_id != cmd.agent_id:
        raise Rejected(f"the ticket is assigned to {ticket.assignee_id}", "not_assignee")
    return [tickets.WorkStarted(agent_id=cmd.agent_id)]


def _reply(ticket: Ticket, cmd: tickets.ReplyToClient, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, WORKING_STATUSES, "reply on")
    events: list[Message] = []
    if ticket.status == S.assigned:
        if ticket.assignee_id != cmd.agent_id:
            raise Rejected(f"the ticket is assigned to {ticket.assignee_id}", "not_assignee")
        events.append(tickets.WorkStarted(agent_id=cmd.agent_id))
    channel = ticket.channel if ticket.channel not in (Channel.system, Channel.agent) else Channel.email
    events.append(tickets.ReplySent(agent_id=cmd.agent_id, text=cmd.text, channel=channel,
                                    first_response=ticket.first_response_at is None, attachments=cmd.attachments))
    return events


def _note(ticket: Ticket, cmd: tickets.AddNote, now: datetime, rules: LedgerRules) -> list[Message]:
    return [tickets.NoteAdded(author_id=cmd.author_id, text=cmd.text, attachments=cmd.attachments)]


def _hold(ticket: Ticket, cmd: tickets.PutOnHold, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.in_progress}, "put on hold")
    return [tickets.TicketPutOnHold(reason=cmd.reason)]


def _resume(ticket: Ticket, cmd: tickets.ResumeWork, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.waiting_customer}, "resume")
    return [tickets.TicketResumed(reason=cmd.reason)]


def _classify(ticket: Ticket, cmd: tickets.ClassifyTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES | {S.resolved}, "classify")
    return [tickets.TicketClassified(
        classification=cmd.classification, ticket_type=cmd.ticket_type or ticket.ticket_type,
        urgency=cmd.urgency or ticket.urgency, priority=cmd.priority or ticket.priority)]


def _escalate(ticket: Ticket, cmd: tickets.EscalateLine, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "escalate")
    if cmd.to_line == ticket.line:
        raise Rejected(f"the ticket is already on {cmd.to_line}", "same_line")
    return [tickets.TicketEscalated(from_line=ticket.line, to_line=cmd.to_line, handed_by=cmd.handed_by,
                                    previous_agent_id=ticket.assignee_id, group_id=cmd.group_id, reason=cmd.reason)]


def _sub_ticket(ticket: Ticket, cmd: tickets.OpenSubTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES, "open a development sub-ticket on")
    if any(c.id == cmd.child_id for c in ticket.children):
        return []
    return [tickets.SubTicketOpened(child_id=cmd.child_id, opened_by=cmd.opened_by, summary=cmd.summary, line=cmd.line,
                                    group_id=cmd.group_id)]


def _child(ticket: Ticket, cmd: tickets.UpdateChildStatus, now: datetime, rules: LedgerRules) -> list[Message]:
    child = next((c for c in ticket.children if c.id == cmd.child_id), None)
    if child is None:
        raise Rejected(f"{cmd.child_id} is not a sub-ticket of this ticket", "not_child")
    return [] if child.status == cmd.status else [tickets.ChildStatusUpdated(child_id=cmd.child_id, status=cmd.status)]


def _flag(ticket: Ticket, cmd: tickets.SetFlag, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.flags.get(cmd.flag, False) == cmd.value:
        return []
    return [tickets.FlagChanged(flag=cmd.flag, value=cmd.value, reason=cmd.reason)]


def _participant(ticket: Ticket, cmd: tickets.AddParticipant, now: datetime, rules: LedgerRules) -> list[Message]:
    if any(p.user_id == cmd.user_id and p.role == cmd.role for p in ticket.participants):
        return []
    return [tickets.ParticipantAdded(user_id=cmd.user_id, role=cmd.role, reason=cmd.reason)]


def _resolve(ticket: Ticket, cmd: tickets.ResolveTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, WORKING_STATUSES, "resolve")
    missing = [name for name, value in (("problem", cmd.problem), ("solution", cmd.solution)) if not value.strip()]
    if missing:
        raise Rejected("resolving needs both \"problem in the client's words\" and \"what was done to solve it\"; "
                       f"missing: {', '.join(missing)}", "resolution_fields_required")
    return [tickets.TicketResolved(agent_id=cmd.agent_id, problem=cmd.problem.strip(), solution=cmd.solution.strip(),
                                   channel=ticket.channel, sender=ticket.sender, client=ticket.client)]


def _complete(ticket: Ticket, cmd: tickets.CompleteTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.status == S.completed:
        return []
    _need(ticket, {S.resolved}, "complete")
    return [tickets.TicketCompleted(reason=cmd.reason)]


def _close(ticket: Ticket, cmd: tickets.CloseTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, {S.resolved, S.completed}, "close")
    open_children = [c.id for c in ticket.children if c.status in ACTIVE_STATUSES]
    reason = (cmd.reason or "").strip() or None
    if open_children and reason is None:
        raise Rejected(f"development sub-tickets {', '.join(open_children)} are still open; closing the ticket "
                       "over them needs a reason", "open_sub_tickets")
    return [tickets.TicketClosed(reason=reason, open_sub_tickets=open_children)]


def _reopen(ticket: Ticket, cmd: tickets.ReopenTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, FINISHED_STATUSES, "reopen")
    return [_reopened(ticket, cmd.reason, now, rules)]


def _link(ticket: Ticket, cmd: tickets.LinkClient, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.client == cmd.client and not ticket.unidentified:
        return []
    previous = ticket.client.client_id if ticket.client is not None else None
    reason = (cmd.reason or "").strip() or None
    if previous is not None and reason is None:
        raise Rejected(f"the ticket is already linked to client {previous}; only a team lead re-links it, "
                       "with a reason", "already_identified")
    return [tickets.ClientLinked(client=cmd.client, sender=ticket.sender, linked_by=cmd.linked_by, reason=reason,
                                 previous_client_id=previous)]


def _rate(ticket: Ticket, cmd: tickets.RecordRating, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.rating is not None:
        raise Rejected("this ticket has already been rated; a rating cannot be changed", "already_rated")
    _need(ticket, {S.resolved, S.completed}, "rate")
    events: list[Message] = [tickets.RatingRecorded(
        survey_id=cmd.survey_id, answer=cmd.answer, comment=cmd.comment,
        agent_id=ticket.resolution.agent_id if ticket.resolution else ticket.assignee_id,
        created_by=ticket.created_by)]
    if cmd.answer == "not_mine":
        events.append(tickets.FlagChanged(flag="fraud_suspected", value=True,
                                          reason="client says they did not open this request"))
    if ticket.status == S.resolved:
        events.append(tickets.TicketCompleted(reason="rated"))
    return events


def _callback(ticket: Ticket, cmd: tickets.LogCallback, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES | {S.resolved}, "log a call-back on")
    return [tickets.CallbackLogged(agent_id=cmd.agent_id, answered=cmd.answered, comment=cmd.comment, phone=cmd.phone)]


def _deadline(ticket: Ticket, cmd: tickets.SetDeadline, now: datetime, rules: LedgerRules) -> list[Message]:
    return [] if ticket.deadline == cmd.deadline else [tickets.DeadlineSet(deadline=cmd.deadline)]


def _notification(ticket: Ticket, cmd: tickets.RecordNotification, now: datetime, rules: LedgerRules) -> list[Message]:
    return [tickets.NotificationRecorded(**cmd.model_dump())]


_HANDLERS: dict[type[Message], Callable[[Ticket, Any, datetime, LedgerRules], list[Message]]] = {
    tickets.OfferTicket: _offer, tickets.ClaimTicket: _claim, tickets.AssignTicket: _assign,
    tickets.StartWork: _start, tickets.ReplyToClient: _reply, tickets.AddNote: _note, tickets.PutOnHold: _hold,
    tickets.ResumeWork: _resume, tickets.ClassifyTicket: _classify, tickets.EscalateLine: _escalate,
    tickets.OpenSubTicket: _sub_ticket, tickets.UpdateChildStatus: _child, tickets.SetFlag: _flag,
    tickets.AddParticipant: _participant, tickets.ResolveTicket: _resolve, tickets.CompleteTicket: _complete,
    tickets.CloseTicket: _close, tickets.ReopenTicket: _reopen, tickets.LinkClient: _link,
    tickets.RecordRating: _rate, tickets.LogCallback: _callback, tickets.SetDeadline: _deadline,
    tickets.RecordNotification: _notification,
}


def _change_tags(ticket: Ticket, cmd: tickets.ChangeTags, now: datetime, rules: LedgerRules) -> list[Message]:
    both = sorted(set(cmd.add) & set(cmd.remove))
    if both:
        raise Rejected(f"a tag cannot be added and removed at once: {', '.join(both)}", "tag_conflict")
    added = [t for t in dict.fromkeys(cmd.add) if t not in ticket.tags]
    removed = [t for t in dict.fromkeys(cmd.remove) if t in ticket.tags]
    if len(ticket.tags) + len(added) - len(removed) > tickets.MAX_TAGS_PER_TICKET:
        raise Rejected(f"a ticket carries at most {tickets.MAX_TAGS_PER_TICKET} tags; it has {len(ticket.tags)}",
                       "too_many_tags")
    return [tickets.TagsChanged(added=added, removed=removed, by=cmd.by)] if added or removed else []


def _set_fields(ticket: Ticket, cmd: tickets.SetCustomFields, now: datetime, rules: LedgerRules) -> list[Message]:
    _need(ticket, ACTIVE_STATUSES | {S.resolved}, "set custom fields on")
    stored, problems = check_values(rules.custom_fields, cmd.values, level="ticket",
                                    ticket_type=ticket.ticket_type.value)
    if problems:
        raise Rejected("; ".join(problems), "invalid_custom_field")
    changed = {k: v for k, v in stored.items() if ticket.custom_fields.get(k) != v}
    return [tickets.CustomFieldsSet(values=changed, set_by=cmd.set_by)] if changed else []


def _resolve_with_fields(ticket: Ticket, cmd: tickets.ResolveTicket, now: datetime,
                         rules: LedgerRules) -> list[Message]:
    """Resolving also needs every required custom field that applies to the ticket's type."""
    missing = missing_required(rules.custom_fields, ticket.ticket_type.value, ticket.custom_fields)
    if missing and ticket.status in WORKING_STATUSES:
        raise Rejected(f"resolving needs the custom fields {', '.join(missing)}", "custom_fields_required")
    return _resolve(ticket, cmd, now, rules)


# Tags and custom fields; resolving is checked against the required fields first.
_HANDLERS |= {tickets.ChangeTags: _change_tags, tickets.SetCustomFields: _set_fields,
              tickets.ResolveTicket: _resolve_with_fields}
# The commands whose decision reads the custom-fields directory (the handler loads it for them only).
READS_CUSTOM_FIELDS: frozenset[type[Message]] = frozenset({tickets.SetCustomFields, tickets.ResolveTicket})
COMMANDS: frozenset[type[Message]] = frozenset([*_HANDLERS, tickets.OpenTicket, tickets.ReceiveMessage])


def highest_type(*types: TicketType) -> TicketType:
    """Complaint > Request > Consultation."""
    return max(types, key=lambda x: x.rank)


def follow_ups(ticket: Ticket, events: list[Message]) -> list[tuple[str, Message]]:
    """Commands the ledger sends on after recording: to a child it opened, to a parent it reports to."""
    out: list[tuple[str, Message]] = []
    for ev in events:
        if isinstance(ev, tickets.SubTicketOpened):
            out.append((ev.child_id, tickets.OpenTicket(
                channel=Channel.agent, subject=f"[dev] {ticket.subject or ticket.number}", text=ev.summary,
                client=ticket.client, classification=ticket.classification, ticket_type=ticket.ticket_type,
                urgency=ticket.urgency, priority=ticket.priority, line=ev.line, group_id=ev.group_id,
                parent_id=ticket.id, created_by=ev.opened_by, sender=ticket.sender)))
    status_changed = any(isinstance(ev, (tickets.TicketOpened, StatusChange)) for ev in events)
    if ticket.parent_id and status_changed:
        out.append((ticket.parent_id, tickets.UpdateChildStatus(child_id=ticket.id, status=ticket.status.value)))
    out += [f for ev in events if isinstance(ev, tickets.MessageForwarded) for f in move_follow_ups(ticket, ev, ())]
    return out


# ---- merge and split (issue 22) ------------------------------------------------------------------


def _same_client(a: Ticket, b: Ticket) -> bool:
    return same_client(a.client.client_id if a.client else None, b.client.client_id if b.client else None)


def _merge(ticket: Ticket, cmd: tickets.MergeTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if ticket.merged_into:
        if ticket.merged_into == cmd.target_id:
            return []
        raise Rejected(f"this ticket is already merged into {ticket.merged_into}", "already_merged")
    if cmd.target_id == ticket.id:
        raise Rejected("a ticket cannot be merged into itself", "same_ticket")
    _need(ticket, ACTIVE_STATUSES, "merge")
    target = rules.merge_target
    if target is None or target.id != cmd.target_id:
        raise Rejected(f"no ticket {cmd.target_id} to merge into", "not_found")
    if target.merged_into:
        raise Rejected(f"ticket #{target.number} is itself merged into {target.merged_into}; merge into that one",
                       "target_merged")
    if target.status in FINISHED_STATUSES:
        raise Rejected(f"ticket #{target.number} is {target.status.value}; reopen it before merging into it",
                       "target_finished")
    related = {ticket.parent_id, *(c.id for c in ticket.children)}
    if target.id in related or target.parent_id == ticket.id:
        raise Rejected("a development sub-ticket and its parent cannot be merged", "sub_ticket_pair")
    if not _same_client(ticket, target) and not cmd.cross_client_confirmed_by:
        raise Rejected(f"tickets #{ticket.number} and #{target.number} are not of the same client; only a team "
                       "lead may confirm merging them", "cross_client")
    ids = movable_ids(rules.history)
    moved = collect(rules.history, ids)
    if moved.count > tickets.MAX_MOVED_ENTRIES or moved.chars > tickets.MAX_MOVED_CHARS:
        raise Rejected(f"ticket #{ticket.number} has too much history to merge ({moved.count} entries, "
                       f"{moved.chars} characters)", "too_large")
    return [tickets.TicketMerged(
        target_id=target.id, target_number=target.number, merged_by=cmd.merged_by, reason=cmd.reason,
        cross_client_confirmed_by=None if _same_client(ticket, target) else cmd.cross_client_confirmed_by,
        moved_event_ids=ids, participants=[tickets.MovedParticipant(user_id=p.user_id, role=p.role)
                                           for p in ticket.participants],
        moved_messages=len(moved.messages), moved_replies=len(moved.replies), moved_notes=len(moved.notes))]


def _split(ticket: Ticket, cmd: tickets.SplitTicket, now: datetime, rules: LedgerRules) -> list[Message]:
    if cmd.new_ticket_id in ticket.split_into:
        return []
    _need(ticket, ACTIVE_STATUSES, "split")
    contents = client_messages(rules.history)
    unknown = [m for m in cmd.message_ids if m not in contents]
    if unknown:
        raise Rejected(f"not client messages of this ticket: {', '.join(unknown)}", "unknown_messages")
    gone = already_split(rules.history)
    taken = [m for m in cmd.message_ids if m in gone]
    if taken:
        raise Rejected(f"already split into {gone[taken[0]]}: {', '.join(taken)}", "already_split")
    chosen = set(cmd.message_ids)
    ordered = [m for m in contents if m in chosen]
    if sum(len(contents[m].text) for m in ordered) > tickets.MAX_MOVED_CHARS:
        raise Rejected("the selected messages are too long to split off together", "too_large")
    subject = (cmd.subject or "").strip() or f"Split from #{ticket.number}: {ticket.subject or ''}".strip()
    return [tickets.TicketSplit(new_ticket_id=cmd.new_ticket_id, message_ids=ordered, subject=subject[:1000],
                                split_by=cmd.split_by)]


def _take_over(ticket: Ticket, cmd: tickets.TakeOverEntries, now: datetime, rules: LedgerRules) -> list[Message]:
    """Always recorded (a refusal here would lose what the other ticket already gave up); once per source."""
    done = cmd.from_ticket_id in ticket.merged_from if cmd.kind == "merge" else ticket.split_from is not None
    if done:
        return []
    return [tickets.TicketAbsorbed(kind=cmd.kind, from_ticket_id=cmd.from_ticket_id, from_number=cmd.from_number,
                                   by=cmd.by, reason=cmd.reason, messages=cmd.messages, replies=cmd.replies,
                                   participants=cmd.participants),
            *(tickets.NoteAdded(author_id=n.author_id, text=n.text, attachments=n.attachments) for n in cmd.notes)]


def _forward(ticket: Ticket, cmd: tickets.ReceiveMessage) -> list[Message]:
    """A client message to a merged ticket goes on to the ticket it was merged into, never reopening this one."""
    key = f"{cmd.content.channel.value}:{cmd.content.external_id}"
    if key in ticket.external_ids or ticket.merged_into is None:
        return []
    return [tickets.MessageForwarded(content=cmd.content, to_ticket_id=ticket.merged_into)]


def _reopen_unless_merged(ticket: Ticket, cmd: tickets.ReopenTicket, now: datetime,
                          rules: LedgerRules) -> list[Message]:
    if ticket.merged_into:
        raise Rejected(f"this ticket was merged into {ticket.merged_into}; work on that one", "merged")
    return _reopen(ticket, cmd, now, rules)


_HANDLERS |= {tickets.MergeTicket: _merge, tickets.SplitTicket: _split, tickets.TakeOverEntries: _take_over,
              tickets.ReopenTicket: _reopen_unless_merged}
# Merge reads the target ticket; merge and split read this ticket's history (the handler loads both for them only).
_MOVES: frozenset[type[Message]] = frozenset([tickets.MergeTicket, tickets.SplitTicket, tickets.TakeOverEntries])
READS_HISTORY: frozenset[type[Message]] = _MOVES - {tickets.TakeOverEntries}
COMMANDS = COMMANDS | _MOVES
