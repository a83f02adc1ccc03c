"""``evolve`` copies only what an event may change in place: the ticket it is given stays as it was, whatever the
event, and the fields marked set (which decide what the ledger writes) carry over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender, TicketStatus
from shared.contracts.ticket import ChildRef, Handover, Participant, Ticket, evolve

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def empty_ticket() -> Ticket:
    """Every list and dict empty: an append to the copy's must not land in the given ticket's."""
    return Ticket.model_validate(dict(id="T1", number=1, channel=Channel.email, status=TicketStatus.offered,
                                      created_at=NOW, updated_at=NOW, status_changed_at=NOW, line="first"))


def full_ticket() -> Ticket:
    """Every list and dict an event can change in place is non-empty, nested models included."""
    return Ticket.model_validate(dict(
        id="T1", number=1, channel=Channel.email, status=TicketStatus.offered, created_at=NOW, updated_at=NOW,
        status_changed_at=NOW, line="first", offered_to=["a1"], external_ids=["email:m0"],
        email_message_ids=["<m0@x>"], conversation_ids=["c0"], flags={"escalated": False},
        custom_fields={"plan": "gold", "ids": [1, 2]}, tags=["vip"], split_into=["T9"], merged_from=["T8"],
        participants=[Participant(user_id="head", role="head_of_service")],
        children=[ChildRef(id="C1")],
        handovers=[Handover(from_line="first", to_line="second", handed_by="a0", handed_at=NOW)]))


def content(ext: str) -> InboundContent:
    return InboundContent(message_id=ext, channel=Channel.email, external_id=ext, text="hi",
                          sender=Sender(email="c@x.org"), received_at=NOW, email_message_id=f"<{ext}@x>",
                          conversation_id="c1")


EVENTS: list[Message] = [
    t.TicketAssigned(agent_id="a1", mode="claim"),  # takes the open handover in place
    t.ChildStatusUpdated(child_id="C1", status="resolved"),  # changes a child in place
    t.FlagChanged(flag="escalated", value=True),
    t.CustomFieldsSet(values={"plan": None, "seats": 3}, set_by="a1"),
    t.TagsChanged(added=["new"], removed=["vip"], by="a1"),
    t.ParticipantAdded(user_id="lead", role="team_lead"),
    t.MessageReceived(content=content("m1")),
    t.TicketSplit(new_ticket_id="T10", message_ids=["m0"], split_by="a1"),
    t.TicketAbsorbed(kind="merge", from_ticket_id="T7", from_number=7, by="a1", messages=[content("m2")]),
    t.TicketEscalated(from_line="first", to_line="second", handed_by="a1"),
    t.SubTicketOpened(child_id="C2", opened_by="a1", summary="fix", line="development"),
]


@pytest.mark.parametrize("make", [full_ticket, empty_ticket], ids=["full", "empty"])
@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_the_given_ticket_is_left_as_it_was(event: Message, make: Callable[[], Ticket]) -> None:
    ticket = make()
    before = ticket.model_dump()
    env = envelope_for(event, "T1", occurred_at=LATER)
    after = evolve(ticket, env, event)
    assert ticket.model_dump() == before
    assert after.model_dump() != before
    assert after.version == ticket.version + 1 and after.updated_at == LATER
    assert ticket.model_fields_set <= after.model_fields_set


@pytest.mark.parametrize("make", [full_ticket, empty_ticket], ids=["full", "empty"])
def test_a_chain_of_events_never_reaches_back(make: Callable[[], Ticket]) -> None:
    """Each step's result is the next step's input (as in a batch): no step changes an earlier one."""
    states = [make()]
    dumps = [states[0].model_dump()]
    for event in EVENTS:
        states.append(evolve(states[-1], envelope_for(event, "T1", occurred_at=LATER), event))
        dumps.append(states[-1].model_dump())
    assert [s.model_dump() for s in states] == dumps
    if make is full_ticket:
        last = states[-1]
        assert last.handovers[0].taken_by == "a1" and states[0].handovers[0].taken_by is None
        assert [c.status for c in last.children] == ["resolved", "new"] and states[0].children[0].status == "new"
        assert last.custom_fields == {"ids": [1, 2], "seats": 3}
