"""Who a ticket belongs to: only an explicit link sets the client; a later message never does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.tickets.domain import Rejected, decide
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender, TicketStatus
from shared.contracts.ticket import Ticket, evolve

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ACME = ClientRef(client_id="acme", contact_id="anna")
GLOBEX = ClientRef(client_id="globex", contact_id="greta")


def unidentified() -> Ticket:
    return Ticket(id="T1", number=40, channel=Channel.email, status=TicketStatus.in_progress, assignee_id="a1",
                  sender=Sender(email="stranger@nowhere.example"), unidentified=True, created_at=NOW,
                  updated_at=NOW, status_changed_at=NOW)


def message(ext: str, client: ClientRef | None, **kw: object) -> t.ReceiveMessage:
    content = InboundContent(message_id=ext, channel=Channel.email, external_id=ext, text="hi",
                             sender=Sender(email="greta@globex.example"), received_at=NOW)
    return t.ReceiveMessage.model_validate({"channel": Channel.email, "content": content, "client": client, **kw})


def apply(ticket: Ticket, events: list[Message]) -> Ticket:
    for i, ev in enumerate(events):
        ticket = evolve(ticket, envelope_for(ev, ticket.id, occurred_at=NOW, id=f"e{i}"), ev)
    return ticket


def test_an_identified_later_message_does_not_link_the_ticket() -> None:
    events = decide(unidentified(), message("m2", GLOBEX), NOW)
    assert not any(isinstance(e, t.ClientLinked) for e in events)
    after = apply(unidentified(), events)
    assert after.unidentified and after.client is None


def test_the_first_identified_message_still_opens_an_identified_ticket() -> None:
    [opened, _] = decide(None, message("m1", ACME), NOW, next_number=1)
    assert isinstance(opened, t.TicketOpened) and opened.client == ACME and not opened.unidentified


def test_link_on_an_unidentified_ticket_and_relink_only_with_a_reason() -> None:
    linked = apply(unidentified(), decide(unidentified(), t.LinkClient(client=ACME, linked_by="ann"), NOW))
    assert linked.client == ACME and not linked.unidentified
    assert decide(linked, t.LinkClient(client=ACME, linked_by="bob"), NOW) == []  # the same link: nothing to do
    with pytest.raises(Rejected) as err:
        decide(linked, t.LinkClient(client=GLOBEX, linked_by="bob"), NOW)
    assert err.value.code == "already_identified"
    with pytest.raises(Rejected):
        decide(linked, t.LinkClient(client=GLOBEX, linked_by="lea", reason="  "), NOW)
    [ev] = decide(linked, t.LinkClient(client=GLOBEX, linked_by="lea", reason="wrong client at first"), NOW)
    assert isinstance(ev, t.ClientLinked) and ev.reason == "wrong client at first"
    assert ev.previous_client_id == "acme" and ev.linked_by == "lea"
    assert apply(linked, [ev]).client == GLOBEX


def test_review_notes_become_flags_with_their_reason() -> None:
    note = t.ReviewNote(flag="unverified_thread", reason="claims to continue #40")
    events = decide(None, message("m3", None, review=[note]), NOW, next_number=41)
    flags = [e for e in events if isinstance(e, t.FlagChanged)]
    assert [(f.flag, f.value, f.reason) for f in flags] == [("unverified_thread", True, "claims to continue #40")]
    assert apply(unidentified(), events[1:]).flags["unverified_thread"]
    with pytest.raises(ValueError):
        t.ReviewNote.model_validate({"flag": "vip", "reason": "x"})  # only review flags ride on a message
