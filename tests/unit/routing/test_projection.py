"""Routing's ticket view follows the ledger's events for the fields routing decides with."""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.projection import TicketView, apply, needs_write
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, RequestedLine, TicketStatus

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def step(view: TicketView | None, msg: Message) -> tuple[TicketView | None, Envelope]:
    env = envelope_for(msg, "T1", occurred_at=NOW)
    return apply(view, env, msg), env


def test_view_follows_offer_claim_escalation_and_resolution() -> None:
    v, _ = step(None, t.MessageReceived.model_construct())
    assert v is None  # no view before the ticket is opened
    v, _ = step(None, t.TicketOpened(channel=Channel.email, number=1, requested_line=RequestedLine.plain,
                                     client=ClientRef(client_id="c", service_team_id="team-1"), urgency="urgent"))
    assert v is not None and v.status == TicketStatus.new and v.service_team_id == "team-1" and v.urgency == "urgent"
    v, _ = step(v, t.TicketOffered(agent_ids=["x", "y"], line="first", round=1))
    assert v is not None and (v.status, v.offered_to, v.offer_round, v.line) == (TicketStatus.offered, ["x", "y"],
                                                                                    1, "first")
    v, _ = step(v, t.TicketAssigned(agent_id="x", mode="claim"))
    assert v is not None and (v.status, v.assignee_id, v.offered_to) == (TicketStatus.assigned, "x", [])
    v, _ = step(v, t.WorkStarted(agent_id="x"))
    assert v is not None and v.status == TicketStatus.in_progress
    v, _ = step(v, t.FlagChanged(flag="lost", value=True))
    assert v is not None and v.flags == {"lost": True}
    v, _ = step(v, t.TicketOffered(agent_ids=["y"], line="first", round=2, reason="assignee_unavailable"))
    assert v is not None and (v.assignee_id, v.previous_assignee_id, v.offer_round) == (None, "x", 2)
    v, _ = step(v, t.TicketAssigned(agent_id="y", mode="claim", previous_agent_id="x"))
    v, _ = step(v, t.TicketEscalated(from_line="first", to_line="second", handed_by="y", previous_agent_id="y"))
    assert v is not None and (v.status, v.line, v.assignee_id, v.group_id) == (TicketStatus.new, "second", None,
                                                                                None)
    v, _ = step(v, t.TicketAssigned(agent_id="s", mode="claim"))
    v, env = step(v, t.TicketResolved(agent_id="s", problem="p", solution="s", channel=Channel.email,
                                      sender=t.Sender()))
    assert v is not None and v.status == TicketStatus.resolved and v.applied[-1] == env.id
    v, _ = step(v, t.TicketReopened(from_status="resolved"))
    assert v is not None and v.status == TicketStatus.in_progress


def test_round_trip_through_a_document() -> None:
    v, _ = step(None, t.TicketOpened(channel=Channel.web, number=2, line="development", parent_id="P"))
    assert v is not None
    doc = v.to_doc()
    assert doc["_id"] == "T1" and TicketView.from_doc({**doc, "_v": 3}) == v


def test_lines_fixed_on_opening_or_by_escalation_are_pinned_routing_s_own_offers_are_not() -> None:
    v, _ = step(None, t.TicketOpened(channel=Channel.web, number=3))
    assert v is not None and (v.pinned_line, v.pinned_group_id) == (None, None)
    v, _ = step(v, t.TicketOffered(agent_ids=["x"], line="first", group_id="g1", round=1))
    assert v is not None and (v.line, v.group_id, v.pinned_line, v.pinned_group_id) == ("first", "g1", None, None)
    v, _ = step(v, t.TicketEscalated(from_line="first", to_line="second", handed_by="x", group_id="g2"))
    assert v is not None and (v.pinned_line, v.pinned_group_id) == ("second", "g2")
    child, _ = step(None, t.TicketOpened(channel=Channel.agent, number=4, line="development", group_id="g-dev",
                                         parent_id="P"))
    assert child is not None and (child.pinned_line, child.pinned_group_id) == ("development", "g-dev")


def test_a_view_saved_before_pinning_keeps_its_line_and_group_pinned() -> None:
    old = {"_id": "T1", "_v": 2, "status": "offered", "line": "second", "group_id": "g2", "offer_round": 1}
    v = TicketView.from_doc(old)
    assert (v.pinned_line, v.pinned_group_id) == ("second", "g2")
    assert TicketView.from_doc({**old, "pinned_line": None, "pinned_group_id": None}).pinned_line is None


def test_a_view_is_written_only_when_something_routing_decides_on_changes() -> None:
    base = TicketView(id="T-w", status=TicketStatus.assigned, assignee_id="ann", line="first")
    assert needs_write(None, base)
    # which working (or finished) status, when, the events applied, a cleared timer mark: kept in memory only
    for same in (base.model_copy(update={"status": TicketStatus.in_progress}),
                 base.model_copy(update={"status": TicketStatus.waiting_customer, "applied": ["e-1"]}),
                 base.model_copy(update={"updated_at": datetime(2026, 1, 1, tzinfo=UTC)})):
        assert not needs_write(base, same)
    marked = base.model_copy(update={"timers": True})
    assert not needs_write(marked, base)
    finished = base.model_copy(update={"status": TicketStatus.resolved})
    assert not needs_write(finished, finished.model_copy(update={"status": TicketStatus.completed}))
    # another group of statuses (new and offered each their own), a field, a new timer mark: written
    for other in (finished, marked, base.model_copy(update={"assignee_id": "bob"}),
                  base.model_copy(update={"flags": {"lost": True}})):
        assert needs_write(base, other)
    assert needs_write(TicketView(id="T-w"), TicketView(id="T-w", status=TicketStatus.offered))


def test_a_view_counts_escalations_and_one_saved_before_counting_knows_none() -> None:
    v, _ = step(None, t.TicketOpened(channel=Channel.web, number=5))
    assert v is not None and v.handovers == 0
    for to_line in ("second", "third"):
        v, _ = step(v, t.TicketEscalated(from_line=v.line if v else None, to_line=to_line, handed_by="x"))
    assert v is not None and v.handovers == 2
    assert TicketView.from_doc(v.to_doc()).handovers == 2
    old = TicketView.from_doc({"_id": "T1", "_v": 2, "status": "new", "line": "second"})
    assert old.handovers is None
    later, _ = step(old, t.TicketEscalated(from_line="second", to_line="third", handed_by="x"))
    assert later is not None and later.handovers is None  # still unknown: the ledger then takes the offer as before
