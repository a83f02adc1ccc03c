"""Reopen clears the current resolution, a parent with open sub-tickets closes only with a reason, an offer
clears "nobody available" (issue 17, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.tickets.domain import Rejected, decide
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, TicketStatus
from shared.contracts.ticket import ChildRef, Ticket, evolve

S = TicketStatus
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def ticket_in(status: S, **kw: object) -> Ticket:
    base: dict[str, object] = dict(id="T1", number=1, channel=Channel.email, status=status, created_at=NOW,
                                   updated_at=NOW, status_changed_at=NOW, line="first", assignee_id="a1")
    base.update(kw)
    return Ticket.model_validate(base)


def run(ticket: Ticket, cmd: Message, history: list[Envelope] | None = None) -> Ticket:
    for ev in decide(ticket, cmd, NOW):
        env = envelope_for(ev, ticket.id, occurred_at=NOW)
        if history is not None:
            history.append(env)
        ticket = evolve(ticket, env, ev)
    return ticket


def test_reopen_clears_the_resolution_from_the_state_and_history_keeps_it() -> None:
    history: list[Envelope] = []
    ticket = run(ticket_in(S.in_progress), t.ResolveTicket(agent_id="a1", problem="no net", solution="reset"),
                 history)
    assert ticket.resolution is not None and ticket.resolution.solution == "reset"
    ticket = run(ticket, t.ReopenTicket(reason="still down"), history)
    assert ticket.status == S.in_progress and ticket.resolution is None
    resolved = [e for e in history if e.type == "TicketResolved"]
    assert [e.payload["solution"] for e in resolved] == ["reset"]
    ticket = run(ticket, t.ResolveTicket(agent_id="a1", problem="no net", solution="new router"), history)
    assert ticket.resolution is not None and ticket.resolution.solution == "new router"


def test_a_client_message_reopening_a_resolved_ticket_clears_the_resolution_too() -> None:
    ticket = run(ticket_in(S.in_progress), t.ResolveTicket(agent_id="a1", problem="p", solution="s"))
    content = t.InboundContent(message_id="m2", channel=Channel.email, external_id="m2", text="not fixed",
                               sender=t.Sender(email="c@x.org"), received_at=NOW)
    ticket = run(ticket, t.ReceiveMessage(channel=Channel.email, content=content))
    assert ticket.status == S.in_progress and ticket.resolution is None


def parent_with(child_status: str) -> Ticket:
    return ticket_in(S.resolved, children=[ChildRef(id="T1-dev", status=child_status)])


@pytest.mark.parametrize("child_status", ["new", "offered", "assigned", "in_progress", "waiting_customer"])
def test_closing_a_parent_with_an_open_sub_ticket_needs_a_reason(child_status: str) -> None:
    for reason in (None, "", "   "):
        with pytest.raises(Rejected) as err:
            decide(parent_with(child_status), t.CloseTicket(reason=reason), NOW)
        assert err.value.code == "open_sub_tickets" and "T1-dev" in err.value.reason


def test_the_reason_for_closing_over_an_open_sub_ticket_is_recorded() -> None:
    history: list[Envelope] = []
    closed = run(parent_with("in_progress"), t.CloseTicket(reason="client cancelled"), history)
    assert closed.status == S.closed
    (event,) = history
    assert event.type == "TicketClosed"
    assert event.payload["reason"] == "client cancelled" and event.payload["open_sub_tickets"] == ["T1-dev"]


@pytest.mark.parametrize("child_status", ["resolved", "completed", "closed"])
def test_a_parent_whose_sub_tickets_are_finished_closes_without_a_reason(child_status: str) -> None:
    assert run(parent_with(child_status), t.CloseTicket()).status == S.closed


def test_an_offer_clears_nobody_available() -> None:
    history: list[Envelope] = []
    flagged = ticket_in(S.new, assignee_id=None, flags={"nobody_available": True, "lost": True})
    offered = run(flagged, t.OfferTicket(agent_ids=["a2"], line="first", reason="retry"), history)
    assert offered.status == S.offered and offered.flags["nobody_available"] is False
    assert offered.flags["lost"] is True  # still nobody has it: "lost" comes down on assignment
    flag = next(e for e in history if e.type == "FlagChanged")
    assert flag.payload["flag"] == "nobody_available" and flag.payload["value"] is False


def test_an_offer_without_the_flag_changes_no_flag() -> None:
    history: list[Envelope] = []
    run(ticket_in(S.new, assignee_id=None), t.OfferTicket(agent_ids=["a2"], line="first"), history)
    assert [e.type for e in history] == ["TicketOffered"]
