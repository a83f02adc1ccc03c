"""Which of a clock's planned timers are kept as timer documents: the earliest only (ties together), so each
firing's sync schedules the next step and a ticket's steps fire in due order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla import domain
from services.sla.model import Catalog, SlaClock, TimerPlan
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.sla import SlaPolicy, Targets

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATALOG = Catalog(default_policy=SlaPolicy(id="default", warning_share=0.8, targets=Targets(
    first_response_seconds=3600, resolution_seconds=4 * 3600)))


def plan(name: str, minutes: float) -> TimerPlan:
    return TimerPlan(name, T0 + timedelta(minutes=minutes), domain.BREACH, {"target": name, "epoch": 0})


def test_the_earliest_plan_is_kept_and_ties_together() -> None:
    assert domain.next_timers([]) == []
    assert [p.id for p in domain.next_timers([plan("b", 60), plan("a", 48), plan("c", 240)])] == ["a"]
    assert [p.id for p in domain.next_timers([plan("b", 60), plan("a", 60), plan("c", 240)])] == ["b", "a"]


def opened_clock() -> SlaClock:
    clock = domain.apply(None, "T-1", "e1", t.TicketOpened(channel=Channel.email, number=1), T0, CATALOG)
    assert clock is not None
    return clock


def test_firing_the_next_timer_each_time_walks_every_step_in_due_order() -> None:
    """The chain a timer pass follows: fire the kept timer, derive the plans again, keep the next."""
    clock, fired = opened_clock(), []
    every = sorted(domain.desired_timers(clock, CATALOG), key=lambda p: p.due_at)
    for _ in range(10):
        kept = domain.next_timers(domain.desired_timers(clock, CATALOG))
        if not kept:
            break
        firing = domain.fire(clock, kept[0].kind, kept[0].data, kept[0].due_at, CATALOG)
        assert firing is not None
        clock, fired = firing.clock, [*fired, kept[0]]
    # every warning and breach planned at the opening fires, and so do the ladder steps the breach started
    # (the first of them at the breach itself), all in due order
    assert [p.id for p in fired if p.kind != domain.LADDER] == [p.id for p in every]
    assert [p.due_at for p in fired] == sorted(p.due_at for p in fired)
    assert any(p.kind == domain.LADDER for p in fired)
