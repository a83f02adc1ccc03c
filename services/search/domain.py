"""What the search index knows of a ticket, built from the ledger's events (pure).

The ticket's fields come from the shared read model (``evolve``); the texts the read model does not keep (client
messages, replies, notes) are collected here. Notes stay in a list of their own: only staff queries match them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.envelope import Envelope, Message, registry
from shared.contracts.schemas import tickets
from shared.contracts.ticket import Ticket, evolve

# A ticket's texts are bounded so its state stays a small MongoDB document: the first message and the latest
# ones are kept, each cut to a length nobody reads as one message.
MAX_TEXTS = 100
MAX_TEXT_CHARS = 20_000
SEEN_KEEP = 1000  # event ids kept with the state: a redelivered (or, after a rebuild, replayed) event is skipped
NONE = "\u2205"  # how an absent scope field (a ticket without a team) is indexed, so filters can name it


class SearchState(BaseModel):
    ticket: Ticket
    messages: list[str] = Field(default_factory=list)
    replies: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)

    @property
    def version(self) -> int:
        return self.ticket.version


class People(BaseModel):
    """The contacts directory's words for the ticket's client: names, e-mails, phones, contract numbers."""

    names: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    contracts: list[str] = Field(default_factory=list)


class IndexDoc(BaseModel):
    """One ticket as every engine indexes it."""

    ticket_id: str
    number: int
    version: int
    subject: str
    text: str  # client messages and agents' replies
    notes: str  # internal notes: matched and highlighted for staff only
    people: str  # names of the client, its contact and the sender; tags and custom field values
    ids: list[str]  # number, e-mails, phones, contract numbers: matched by prefix
    status: str
    line: str
    group_id: str
    service_team_id: str
    assignee_id: str
    participants: list[str]
    client_id: str
    contact_id: str  # the client's contact person who wrote (a portal user limited to his own tickets)
    tags: list[str]
    created_at: datetime
    updated_at: datetime


def _add(texts: list[str], text: str | None) -> None:
    if text and text.strip():
        texts.append(text[:MAX_TEXT_CHARS])
        if len(texts) > MAX_TEXTS:
            del texts[1]  # the opening message stays


def apply(state: SearchState | None, env: Envelope, ev: Message) -> SearchState | None:
    """The state after one event; None when the event changes nothing here (a rejection, a duplicate)."""
    if isinstance(ev, tickets.CommandRejected) or (state is not None and env.id in state.seen):
        return None
    ticket = evolve(state.ticket if state else None, env, ev)
    new = (state.model_copy(deep=True, update={"ticket": ticket}) if state and not isinstance(ev, tickets.TicketOpened)
           else SearchState(ticket=ticket))
    match ev:
        case tickets.TicketOpened():
            _add(new.messages, ev.text)
        case tickets.MessageReceived(content=c):
            if c.subject and c.subject != ticket.subject:
                _add(new.messages, c.subject)
            if new.messages != [c.text]:  # an opening's first message repeats TicketOpened's text
                _add(new.messages, c.text)
        case tickets.ReplySent():
            _add(new.replies, ev.text)
        case tickets.NoteAdded():
            _add(new.notes, ev.text)
        case tickets.TicketAbsorbed():  # a merge's or split's entries are found on the ticket that now holds them
            for content in ev.messages:
                _add(new.messages, content.text)
            for reply in ev.replies:
                _add(new.replies, reply.text)
    new.seen = [*new.seen, env.id][-SEEN_KEEP:]
    return new


def fold(history: Iterable[dict[str, Any]]) -> SearchState | None:
    """A ticket's state from the history the ledger stored with it (rebuilds and late starts)."""
    state: SearchState | None = None
    for raw in history:
        env = Envelope.model_validate(raw)
        state = apply(state, env, registry.parse(env)) or state
    return state


def _phones(phones: Iterable[str]) -> list[str]:
    """A phone is found by its digits from any start of the number: with or without the plus."""
    out: list[str] = []
    for phone in phones:
        digits = "".join(ch for ch in phone if ch.isdigit())
        out += [digits, phone.lower()] if digits else []
    return out


def _values(fields: dict[str, Any]) -> list[str]:
    """Custom field values as words (a multi-select's each)."""
    out: list[str] = []
    for value in fields.values():
        out += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value is not None else []
    return out


def index_doc(state: SearchState, people: People) -> IndexDoc:
    t = state.ticket
    client = t.client
    names = [n for n in [client.client_name if client else None, t.sender.name, *people.names] if n]
    emails = [e.lower() for e in [t.sender.email, *people.emails] if e]
    contracts = [c for c in [client.contract_number if client else None, *people.contracts] if c]
    ids = [str(t.number), *emails, *_phones([p for p in [t.sender.phone, *people.phones] if p]),
           *(c.lower() for c in contracts)]
    return IndexDoc(
        ticket_id=t.id, number=t.number, version=t.version, subject=t.subject or "",
        text="\n\n".join([*state.messages, *state.replies]), notes="\n\n".join(state.notes),
        people="\n".join(dict.fromkeys([*names, *emails, *contracts, *t.tags, *_values(t.custom_fields)])),
        ids=sorted(set(ids)),
        status=t.status.value, line=t.line or NONE, group_id=t.group_id or NONE,
        service_team_id=t.service_team_id or NONE, assignee_id=t.assignee_id or NONE,
        participants=[p.user_id for p in t.participants], client_id=client.client_id if client else NONE,
        contact_id=(client.contact_id or NONE) if client else NONE,
        tags=list(t.tags), created_at=t.created_at, updated_at=t.updated_at)
