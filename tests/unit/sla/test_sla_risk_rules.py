"""At risk = a target warned, not met, not breached, on a ticket not yet breached or finished: the flag the SLA
service keeps on the ticket follows that, raised by the warning and lowered by breach, meeting or resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla import domain, risk
from services.sla.model import Catalog, SlaClock
from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.sla import SlaPolicy, Targets

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0
CAT = Catalog(default_policy=SlaPolicy(id="default", targets=Targets(first_response_seconds=HOUR,
                                                                     resolution_seconds=4 * HOUR)))


def opened() -> SlaClock:
    clock = domain.apply(None, "T", "e1", t.TicketOpened(channel=Channel.email, number=1), T0, CAT)
    assert clock is not None
    return clock


def fire(clock: SlaClock, kind: str, target: str) -> domain.Firing:
    plan = next(p for p in domain.desired_timers(clock, CAT) if p.kind == kind and p.data["target"] == target)
    firing = domain.fire(clock, plan.kind, plan.data, plan.due_at, CAT)
    assert firing is not None
    return firing


def flags(commands: list[Message]) -> list[tuple[str, bool]]:
    return [(c.flag, c.value) for c in commands if isinstance(c, t.SetFlag)]


def test_the_warning_raises_the_flag_with_the_target_and_due_time_in_its_reason() -> None:
    warned = fire(opened(), domain.WARN, "first_response")
    assert flags(warned.commands) == [(risk.AT_RISK, True)]
    reason = warned.commands[0].reason  # type: ignore[attr-defined]
    assert "first_response" in reason and (T0 + timedelta(hours=1)).isoformat() in reason
    assert risk.target_at_risk(warned.clock) == "first_response" and warned.clock.at_risk_flagged


def test_the_breach_lowers_it() -> None:
    warned = fire(opened(), domain.WARN, "first_response")
    breached = fire(warned.clock, domain.BREACH, "first_response")
    assert flags(breached.commands) == [("sla_breached", True), (risk.AT_RISK, False)]
    assert risk.target_at_risk(breached.clock) is None


def test_meeting_the_target_lowers_it_once() -> None:
    warned = fire(opened(), domain.WARN, "first_response").clock
    replied = domain.apply(warned, "T", "e2", t.ReplySent(agent_id="a", text="hi", channel=Channel.email),
                           T0 + timedelta(minutes=50), CAT)
    assert replied is not None
    change = risk.flag_change(replied)
    assert change is not None and (change.flag, change.value) == (risk.AT_RISK, False)
    assert risk.flag_change(replied) is None  # told once


def test_resolution_lowers_it() -> None:
    warned = fire(opened(), domain.WARN, "first_response").clock
    resolved = domain.apply(warned, "T", "e2", t.TicketResolved(agent_id="a", problem="p", solution="s",
                                                                channel=Channel.email, sender={}),
                            T0 + timedelta(minutes=50), CAT)
    assert resolved is not None
    change = risk.flag_change(resolved)
    assert change is not None and change.value is False


def test_a_breached_ticket_is_overdue_not_at_risk() -> None:
    breached = fire(fire(opened(), domain.WARN, "first_response").clock, domain.BREACH, "first_response").clock
    resolution_warned = fire(breached, domain.WARN, "resolution")
    assert flags(resolution_warned.commands) == []
    assert risk.target_at_risk(resolution_warned.clock) is None


def test_an_unwarned_clock_raises_nothing() -> None:
    clock = opened()
    assert risk.target_at_risk(clock) is None and risk.flag_change(clock) is None
