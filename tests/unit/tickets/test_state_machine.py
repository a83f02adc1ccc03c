"""Every command against every status: allowed ones record the expected events, the rest are rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tickets.domain import LedgerRules, Rejected, decide, follow_ups, highest_type
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender, TicketStatus, TicketType
from shared.contracts.ticket import Ticket, evolve

S = TicketStatus
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ALL = set(S)
ACTIVE = {S.new, S.offered, S.assigned, S.in_progress, S.waiting_customer}
WORKING = {S.assigned, S.in_progress, S.waiting_customer}


def ticket_in(status: S, **kw: object) -> Ticket:
    base: dict[str, object] = dict(id="T1", number=1, channel=Channel.email, status=status, created_at=NOW,
                                   updated_at=NOW, status_changed_at=NOW, line="first")
    if status == S.offered:
        base["offered_to"] = ["a1", "a2"]
    if status in WORKING | {S.resolved, S.completed, S.closed}:
        base["assignee_id"] = "a1"
    if status == S.completed:
        base["completed_at"] = NOW
    if status == S.closed:
        base["closed_at"] = NOW
    base.update(kw)
    return Ticket.model_validate(base)


def content(ext: str = "m1") -> InboundContent:
    return InboundContent(message_id=ext, channel=Channel.email, external_id=ext, text="hi",
                          sender=Sender(email="c@x.org"), received_at=NOW)


COMMANDS: list[tuple[str, Message, set[S]]] = [
    ("offer", t.OfferTicket(agent_ids=["a1", "a2"], line="first"), ACTIVE),
    ("claim", t.ClaimTicket(agent_id="a2"), {S.offered}),
    ("auto-assign", t.AssignTicket(agent_id="a9", mode="auto"), {S.new, S.offered}),
    ("lead reassign", t.AssignTicket(agent_id="a9", mode="lead"), ACTIVE),
    ("start work", t.StartWork(agent_id="a1"), {S.assigned}),
    ("reply", t.ReplyToClient(agent_id="a1", text="hello"), WORKING),
    ("note", t.AddNote(author_id="a1", text="n"), ALL),
    ("hold", t.PutOnHold(), {S.in_progress}),
    ("resume", t.ResumeWork(), {S.waiting_customer}),
    ("classify", t.ClassifyTicket(classification=t.Classification(topic="net")), ACTIVE | {S.resolved}),
    ("escalate", t.EscalateLine(to_line="second", handed_by="a1"), ACTIVE),
    ("sub-ticket", t.OpenSubTicket(child_id="C1", opened_by="a1", summary="fix"), ACTIVE),
    ("flag", t.SetFlag(flag="long_ignored"), ALL),
    ("participant", t.AddParticipant(user_id="head", role="head_of_service"), ALL),
    ("resolve", t.ResolveTicket(agent_id="a1", problem="no net", solution="reset"), WORKING),
    ("complete", t.CompleteTicket(reason="no_rating_timeout"), {S.resolved}),
    ("close", t.CloseTicket(), {S.resolved, S.completed}),
    ("reopen", t.ReopenTicket(), {S.resolved, S.completed, S.closed}),
    ("rate", t.RecordRating(survey_id="s1", answer="good"), {S.resolved, S.completed}),
    ("callback", t.LogCallback(agent_id="a1", answered=False), ACTIVE | {S.resolved}),
    ("deadline", t.SetDeadline(deadline=NOW + timedelta(days=1)), ALL),
    ("link", t.LinkClient(client=ClientRef(client_id="c1"), linked_by="a1"), ALL),
    ("notification", t.RecordNotification(notification_id="n1", recipient="x", channel="email", outcome="sent"), ALL),
    ("message", t.ReceiveMessage(channel=Channel.email, content=content("new")), ALL),
]


# Already in the target state: accepted, records nothing (redelivery and racing timers are harmless).
NO_OPS = {("complete", S.completed)}


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.value)
@pytest.mark.parametrize("name,cmd,allowed", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_transition_matrix(name: str, cmd: Message, allowed: set[S], status: S) -> None:
    ticket = ticket_in(status)
    if (name, status) in NO_OPS:
        assert decide(ticket, cmd, NOW) == []
    elif status in allowed:
        events = decide(ticket, cmd, NOW)
        assert events, f"{name} in {status} should record something"
        after = ticket
        for i, ev in enumerate(events):
            after = evolve(after, envelope_for(ev, "T1", occurred_at=NOW, id=f"e{i}"), ev)
        assert after.version == ticket.version + len(events)
    else:
        with pytest.raises(Rejected):
            decide(ticket, cmd, NOW)


def test_expected_target_states() -> None:
    def run(status: S, cmd: Message) -> Ticket:
        ticket = ticket_in(status)
        for i, ev in enumerate(decide(ticket, cmd, NOW)):
            ticket = evolve(ticket, envelope_for(ev, "T1", occurred_at=NOW, id=f"e{i}"), ev)
        return ticket

    assert run(S.new, t.OfferTicket(agent_ids=["a1"], line="first")).status == S.offered
    claimed = run(S.offered, t.ClaimTicket(agent_id="a2"))
    assert (claimed.status, claimed.assignee_id) == (S.assigned, "a2")
    assert run(S.assigned, t.StartWork(agent_id="a1")).status == S.in_progress
    assert run(S.in_progress, t.PutOnHold()).status == S.waiting_customer
    assert run(S.waiting_customer, t.ResumeWork()).status == S.in_progress
    resolved = run(S.in_progress, t.ResolveTicket(agent_id="a1", problem="p", solution="s"))
    assert resolved.status == S.resolved and resolved.resolution and resolved.resolution.problem == "p"
    assert run(S.resolved, t.CompleteTicket()).status == S.completed
    assert run(S.completed, t.CloseTicket()).status == S.closed
    assert run(S.closed, t.ReopenTicket()).status == S.in_progress
    escalated = run(S.in_progress, t.EscalateLine(to_line="second", handed_by="a1"))
    assert escalated.status == S.new and escalated.flags["escalated"] and escalated.line == "second"
    assert escalated.handovers[0].handed_by == "a1" and escalated.handovers[0].previous_agent_id == "a1"
    rated = run(S.resolved, t.RecordRating(survey_id="s", answer="not_mine"))
    assert rated.status == S.completed and rated.rating and rated.flags["fraud_suspected"]
    # a client message on a waiting ticket resumes it
    answered = run(S.waiting_customer, t.ReceiveMessage(channel=Channel.email, content=content("x")))
    assert answered.status == S.in_progress


def test_second_claim_loses_with_reason() -> None:
    ticket = ticket_in(S.offered)
    ev = decide(ticket, t.ClaimTicket(agent_id="a1"), NOW)[0]
    ticket = evolve(ticket, envelope_for(ev, "T1", occurred_at=NOW), ev)
    with pytest.raises(Rejected) as err:
        decide(ticket, t.ClaimTicket(agent_id="a2"), NOW)
    assert err.value.code == "already_claimed" and "a1" in err.value.reason


def test_claim_needs_offer_to_you() -> None:
    with pytest.raises(Rejected) as err:
        decide(ticket_in(S.offered), t.ClaimTicket(agent_id="stranger"), NOW)
    assert err.value.code == "not_offered"


def test_auto_assign_never_overrides_claim() -> None:
    with pytest.raises(Rejected) as err:
        decide(ticket_in(S.assigned), t.AssignTicket(agent_id="a9", mode="auto"), NOW)
    assert err.value.code == "already_claimed"


@pytest.mark.parametrize("problem,solution", [("", "s"), ("p", ""), ("  ", "  ")])
def test_resolve_needs_both_fields(problem: str, solution: str) -> None:
    with pytest.raises(Rejected) as err:
        decide(ticket_in(S.in_progress), t.ResolveTicket(agent_id="a1", problem=problem, solution=solution), NOW)
    assert err.value.code == "resolution_fields_required"


def test_reopen_window() -> None:
    rules = LedgerRules(reopen_window=timedelta(minutes=5))
    closed = ticket_in(S.closed, closed_at=NOW)
    assert decide(closed, t.ReopenTicket(), NOW + timedelta(minutes=5), rules=rules)
    with pytest.raises(Rejected) as err:
        decide(closed, t.ReopenTicket(), NOW + timedelta(minutes=5, seconds=1), rules=rules)
    assert err.value.code == "reopen_window_passed"


def test_rating_is_final() -> None:
    ticket = ticket_in(S.resolved)
    for i, ev in enumerate(decide(ticket, t.RecordRating(survey_id="s", answer="good"), NOW)):
        ticket = evolve(ticket, envelope_for(ev, "T1", occurred_at=NOW, id=str(i)), ev)
    with pytest.raises(Rejected) as err:
        decide(ticket, t.RecordRating(survey_id="s", answer="bad"), NOW)
    assert err.value.code == "already_rated" and ticket.rating and ticket.rating.answer == "good"


def test_duplicate_external_message_adds_nothing() -> None:
    ticket = ticket_in(S.in_progress, external_ids=["email:m1"])
    assert decide(ticket, t.ReceiveMessage(channel=Channel.email, content=content("m1")), NOW) == []


def test_open_or_append() -> None:
    events = decide(None, t.ReceiveMessage(channel=Channel.chat, content=content("c1")), NOW, next_number=7)
    assert [type(e) for e in events] == [t.TicketOpened, t.MessageReceived]
    assert isinstance(events[0], t.TicketOpened) and events[0].number == 7 and events[0].unidentified


def test_ticket_type_takes_the_highest() -> None:
    assert highest_type(TicketType.consultation, TicketType.complaint, TicketType.request) == TicketType.complaint
    ticket = ticket_in(S.in_progress, ticket_type=TicketType.request)
    events = decide(ticket, t.ReceiveMessage(channel=Channel.email, content=content("z"),
                                             ticket_type=TicketType.complaint), NOW)
    assert any(isinstance(e, t.TicketClassified) and e.ticket_type == TicketType.complaint for e in events)
    events = decide(ticket, t.ReceiveMessage(channel=Channel.email, content=content("y"),
                                             ticket_type=TicketType.consultation), NOW)
    assert not any(isinstance(e, t.TicketClassified) for e in events)


def test_sub_ticket_follow_ups() -> None:
    parent = ticket_in(S.in_progress, subject="No internet")
    events = decide(parent, t.OpenSubTicket(child_id="C1", opened_by="a1", summary="fix router"), NOW)
    after = evolve(parent, envelope_for(events[0], "T1", occurred_at=NOW), events[0])
    assert after.flags["passed_to_development"] and after.assignee_id == "a1"
    (target, cmd), = follow_ups(after, events)
    assert target == "C1" and isinstance(cmd, t.OpenTicket) and cmd.parent_id == "T1" and cmd.line == "development"
    child = ticket_in(S.new, id="C1", parent_id="T1")
    ups = follow_ups(child, [t.TicketOffered(agent_ids=["d1"], line="development")])
    assert ups and ups[0][0] == "T1" and isinstance(ups[0][1], t.UpdateChildStatus)


def test_sub_ticket_group_reaches_the_child_and_older_records_still_read() -> None:
    parent = ticket_in(S.in_progress)
    events = decide(parent, t.OpenSubTicket(child_id="C1", opened_by="a1", summary="fix", group_id="g-dev"), NOW)
    assert isinstance(events[0], t.SubTicketOpened) and events[0].group_id == "g-dev"
    after = evolve(parent, envelope_for(events[0], "T1", occurred_at=NOW), events[0])
    assert after.children[0].group_id == "g-dev"
    (_, cmd), = follow_ups(after, events)
    assert isinstance(cmd, t.OpenTicket) and (cmd.line, cmd.group_id) == ("development", "g-dev")
    # a SubTicketOpened recorded before the field existed
    old = envelope_for(events[0], "T1", occurred_at=NOW).model_copy(update={"payload": {
        "child_id": "C0", "opened_by": "a1", "summary": "fix", "line": "development"}})
    msg = old.message()
    assert isinstance(msg, t.SubTicketOpened) and msg.group_id is None
    assert evolve(parent, old, msg).children[0].group_id is None


def test_rejects_command_on_missing_ticket() -> None:
    with pytest.raises(Rejected) as err:
        decide(None, t.ClaimTicket(agent_id="a"), NOW)
    assert err.value.code == "not_found"


def test_an_offer_decided_before_a_later_escalation_is_refused_and_keeps_the_ticket_on_its_line() -> None:
    ticket = ticket_in(S.in_progress)
    for to_line in ("second", "third"):
        ev = decide(ticket, t.EscalateLine(to_line=to_line, handed_by="a1"), NOW)[0]
        ticket = evolve(ticket, envelope_for(ev, "T1", occurred_at=NOW), ev)
    stale = t.OfferTicket(agent_ids=["a2"], line="second", reason="escalated", handovers_seen=1)
    with pytest.raises(Rejected) as err:
        decide(ticket, stale, NOW)
    assert err.value.code == "stale_offer" and ticket.line == "third"
    current = decide(ticket, stale.model_copy(update={"line": "third", "handovers_seen": 2}), NOW)[0]
    assert isinstance(current, t.TicketOffered) and current.line == "third"
    unknown = decide(ticket, stale.model_copy(update={"line": "third", "handovers_seen": None}), NOW)[0]
    assert isinstance(unknown, t.TicketOffered)  # an offer from a router that did not count is taken as before
