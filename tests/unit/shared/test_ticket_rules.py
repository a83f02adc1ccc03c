"""The ticket's status rules live once (shared/contracts/ticket_rules.py, the groups next to TicketStatus) and every
follower of tickets.events (routing, sla, notify) reaches the ledger's status after each event: from the status the
ledger recorded on the event, or, for a record written before it did, from the same shared rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.notify import projection as notify_view
from services.routing import projection as routing_view
from services.sla import domain as sla_clock
from services.sla.model import Catalog, SlaClock
from services.tickets.domain import decide
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    UNASSIGNED_STATUSES,
    WORKING_STATUSES,
    Channel,
    Sender,
    TicketStatus,
)
from shared.contracts.ticket import Ticket, evolve
from shared.contracts.ticket_rules import reopen_window_open, reopened_status, status_after

S = TicketStatus
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def test_status_groups_split_every_status_once() -> None:
    assert ACTIVE_STATUSES == UNASSIGNED_STATUSES | WORKING_STATUSES
    assert not UNASSIGNED_STATUSES & WORKING_STATUSES and not ACTIVE_STATUSES & FINISHED_STATUSES
    assert ACTIVE_STATUSES | FINISHED_STATUSES == set(S)
    assert "in_progress" in WORKING_STATUSES  # followers keeping the status as a plain string use the same sets


def test_a_reopened_ticket_goes_back_to_its_assignee_or_to_the_queue() -> None:
    assert reopened_status("a1") == S.in_progress
    assert reopened_status(None) == S.new


@pytest.mark.parametrize(("status", "ago", "open_"), [
    (S.resolved, timedelta(days=30), True),  # resolved: the survey is still out, the client may always answer back
    (S.completed, timedelta(minutes=4), True), (S.completed, timedelta(minutes=6), False),
    (S.closed, timedelta(minutes=5), True), (S.closed, timedelta(minutes=5, seconds=1), False),
])
def test_the_reopen_window_runs_from_completion_or_closing(status: S, ago: timedelta, open_: bool) -> None:
    at = NOW - ago
    assert reopen_window_open(status, closed_at=at, completed_at=at, now=NOW, window=WINDOW) is open_


def test_a_ticket_closed_at_an_unknown_time_may_be_reopened() -> None:
    assert reopen_window_open(S.closed, closed_at=None, completed_at=None, now=NOW, window=WINDOW)


def test_status_changing_events_carry_the_status_after_them_on_the_wire() -> None:
    resolved = tickets.TicketResolved(agent_id="a", problem="p", solution="s", channel=Channel.email,
                                          sender=Sender())
    assert resolved.model_dump(mode="json")["status_after"] == "resolved"
    assert "status_after" not in tickets.NoteAdded(author_id="a", text="x").model_dump()
    with pytest.raises(ValidationError):  # a record contradicting its own type is refused (dead-lettered)
        tickets.TicketClosed(status_after=S.new)
    with pytest.raises(ValidationError):
        tickets.TicketReopened(from_status="closed", status_after=S.resolved)


def test_an_old_record_without_the_status_falls_back_to_the_shared_rule() -> None:
    old_reopen = tickets.TicketReopened.model_validate({"from_status": "resolved"})
    assert old_reopen.status_after is None
    assert status_after(old_reopen, "a1") == S.in_progress and status_after(old_reopen, None) == S.new
    assert tickets.WorkStarted.model_validate({"agent_id": "a"}).status_after == S.in_progress
    recorded = tickets.TicketReopened(from_status="resolved", status_after=S.new)
    assert status_after(recorded, "a1") == S.new  # the ledger's word wins over a follower's view
    assert status_after(tickets.NoteAdded(author_id="a", text="x"), "a1") is None


# ---- every follower agrees with the ledger --------------------------------------------------------------------


def content(n: int) -> tickets.InboundContent:
    return tickets.InboundContent(message_id=f"m{n}", channel=Channel.email, external_id=f"m{n}", text="still down",
                                      sender=Sender(email="c@client.example"), received_at=NOW)


JOURNEY: list[Message] = [
    tickets.ReceiveMessage(channel=Channel.email, content=content(1)),
    tickets.OfferTicket(agent_ids=["x"], line="first"),
    tickets.ClaimTicket(agent_id="x"),
    tickets.OfferTicket(agent_ids=["y"], line="first", reason="assignee_unavailable"),
    tickets.ClaimTicket(agent_id="y"),
    tickets.StartWork(agent_id="y"),
    tickets.PutOnHold(reason="asked the client"),
    tickets.ReceiveMessage(channel=Channel.email, content=content(2)),
    tickets.ResolveTicket(agent_id="y", problem="no net", solution="reset"),
    tickets.ReceiveMessage(channel=Channel.email, content=content(3)),
    tickets.EscalateLine(to_line="second", handed_by="y"),
    tickets.AssignTicket(agent_id="z", mode="lead"),
    tickets.ResolveTicket(agent_id="z", problem="no net", solution="new router"),
    tickets.CompleteTicket(reason="manual"),
    tickets.CloseTicket(),
    tickets.ReopenTicket(reason="client called"),
    tickets.ResumeWork(),  # refused: the ticket is in progress, nothing recorded
]


def ledger_history() -> list[tuple[Envelope, TicketStatus]]:
    """The journey's records as the ledger writes them, each with the ledger's status after it."""
    ticket: Ticket | None = None
    out: list[tuple[Envelope, TicketStatus]] = []
    for n, cmd in enumerate(JOURNEY):
        try:
            events = decide(ticket, cmd, NOW, next_number=1)
        except Exception:  # noqa: BLE001 - a rejected command records nothing, as in the ledger
            continue
        for i, ev in enumerate(events):
            env = envelope_for(ev, "T1", occurred_at=NOW, id=f"e{n}-{i}")
            ticket = evolve(ticket, env, ev)
            out.append((env, ticket.status))
    return out


def strip_status(env: Envelope) -> Envelope:
    payload: dict[str, Any] = {k: v for k, v in env.payload.items() if k != "status_after"}
    return env.model_copy(update={"payload": payload})


@pytest.mark.parametrize("old_records", [False, True], ids=["recorded", "old records"])
def test_routing_sla_and_notify_follow_the_ledger_s_status(old_records: bool) -> None:
    history = ledger_history()
    assert [env.type for env, _ in history].count("TicketReopened") == 2
    routing: routing_view.TicketView | None = None
    clock: SlaClock | None = None
    notify: notify_view.TicketView | None = None
    for env, ledger_status in history:
        if old_records:
            env = strip_status(env)
        msg = env.message()
        routing = routing_view.apply(routing, env, msg)
        clock = sla_clock.apply(clock, "T1", env.id, msg, NOW, Catalog())
        notify = notify_view.apply(notify, env, msg)
        assert routing is not None and clock is not None
        seen = {"routing": routing.status, "sla": clock.status, "notify": notify.status}
        assert seen == dict.fromkeys(seen, ledger_status), f"after {env.type}"
