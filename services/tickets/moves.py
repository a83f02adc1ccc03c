"""Merge and split, the part that reads a ticket's history: which entries move, and the follow-up commands that carry
them to the other ticket. Pure: the handler reads the history; a replay finds the same entries by their ids, so
the follow-ups it sends again are the same commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import InboundContent, TicketType
from shared.contracts.ticket import Ticket


@dataclass(frozen=True)
class Entry:
    """One recorded event of a ticket's history."""

    id: str
    at: datetime
    msg: Message


History = Sequence[Entry]
MOVABLE = (tickets.MessageReceived, tickets.ReplySent, tickets.NoteAdded, tickets.TicketAbsorbed)


@dataclass
class Moved:
    messages: list[InboundContent]
    replies: list[tickets.MovedReply]
    notes: list[tickets.MovedNote]

    @property
    def chars(self) -> int:
        return (sum(len(m.text) for m in self.messages) + sum(len(r.text) for r in self.replies)
                + sum(len(n.text) for n in self.notes))

    @property
    def count(self) -> int:
        return len(self.messages) + len(self.replies) + len(self.notes)


def collect(history: History, ids: Sequence[str] | None = None) -> Moved:
    """The movable entries (all of them, or those named by ``ids``), in the order they were recorded."""
    wanted = set(ids) if ids is not None else None
    out = Moved([], [], [])
    for e in history:
        if not isinstance(e.msg, MOVABLE) or (wanted is not None and e.id not in wanted):
            continue
        match e.msg:
            case tickets.MessageReceived(content=content):
                out.messages.append(content)
            case tickets.ReplySent():
                out.replies.append(tickets.MovedReply(event_id=e.id, at=e.at, agent_id=e.msg.agent_id,
                                                      text=e.msg.text, channel=e.msg.channel,
                                                      attachments=e.msg.attachments))
            case tickets.NoteAdded():
                out.notes.append(tickets.MovedNote(event_id=e.id, at=e.at, author_id=e.msg.author_id,
                                                   text=e.msg.text, attachments=e.msg.attachments))
            case tickets.TicketAbsorbed():  # what this ticket had taken from another moves on with it
                out.messages += e.msg.messages
                out.replies += e.msg.replies
    return out


def movable_ids(history: History) -> list[str]:
    return [e.id for e in history if isinstance(e.msg, MOVABLE)]


def client_messages(history: History) -> dict[str, InboundContent]:
    """Every client message the ticket holds (its own and absorbed ones), by message id, in order."""
    found: dict[str, InboundContent] = {}
    for e in history:
        if isinstance(e.msg, tickets.MessageReceived):
            found[e.msg.content.message_id] = e.msg.content
        elif isinstance(e.msg, tickets.TicketAbsorbed):
            found |= {c.message_id: c for c in e.msg.messages}
    return found


def already_split(history: History) -> dict[str, str]:
    """Message id → the ticket it was split into."""
    return {mid: e.msg.new_ticket_id for e in history if isinstance(e.msg, tickets.TicketSplit)
            for mid in e.msg.message_ids}


def move_follow_ups(ticket: Ticket, ev: Message, history: History) -> list[tuple[str, Message]]:
    """The commands a recorded TicketMerged or TicketSplit sends on (to the target / the new ticket)."""
    number = ticket.number
    if isinstance(ev, tickets.TicketMerged):
        moved = collect(history, ev.moved_event_ids)
        return [(ev.target_id, tickets.TakeOverEntries(
            kind="merge", from_ticket_id=ticket.id, from_number=number, by=ev.merged_by, reason=ev.reason,
            messages=moved.messages, replies=moved.replies, notes=moved.notes, participants=ev.participants))]
    if isinstance(ev, tickets.TicketSplit):
        contents = client_messages(history)
        messages = [contents[m] for m in ev.message_ids if m in contents]
        opening = tickets.OpenTicket(
            channel=ticket.channel, subject=ev.subject, sender=ticket.sender, client=ticket.client,
            classification=ticket.classification, ticket_type=ticket.ticket_type, urgency=ticket.urgency,
            priority=ticket.priority, requested_line=ticket.requested_line, line=ticket.line,
            group_id=ticket.group_id, created_by=ev.split_by)
        return [(ev.new_ticket_id, opening), (ev.new_ticket_id, tickets.TakeOverEntries(
            kind="split", from_ticket_id=ticket.id, from_number=number, by=ev.split_by, messages=messages))]
    if isinstance(ev, tickets.MessageForwarded):
        # The lowest type, so a forwarded message never reclassifies the target.
        return [(ev.to_ticket_id, tickets.ReceiveMessage(channel=ev.content.channel, content=ev.content,
                                                         ticket_type=TicketType.consultation))]
    return []


def needs_history(events: Sequence[Message]) -> bool:
    return any(isinstance(ev, (tickets.TicketMerged, tickets.TicketSplit)) for ev in events)
