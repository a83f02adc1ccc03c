"""Policy choice, extra norms, and clock rules (pause/resume, breach pending, ladder timers) without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla import domain
from services.sla.model import Catalog
from services.sla.policy import Facts, choose_policy, effective_targets
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.directory.sla import DEFAULT_POLICY, SlaNorm, SlaPolicy, Targets

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = SlaPolicy(id="svc", service_ids=["internet"], targets=Targets(first_response_seconds=3600,
                                                                     resolution_seconds=86400),
                 norms=[SlaNorm(priority="high", targets=Targets(resolution_seconds=4 * 3600)),
                        SlaNorm(priority="high", ticket_type="complaint", targets=Targets(resolution_seconds=3600))])
PREMIUM = SlaPolicy(id="premium", categories=["Premium"], targets=Targets(first_response_seconds=600))
ACME = SlaPolicy(id="acme", client_ids=["acme"], targets=Targets(first_response_seconds=300))


def test_client_beats_category_beats_service_beats_default() -> None:
    policies = [BASE, PREMIUM, ACME]
    pick = lambda **kw: choose_policy(policies, Facts(**kw), DEFAULT_POLICY).id  # noqa: E731
    assert pick(client_id="acme", category="Premium", service_id="internet") == "acme"
    assert pick(client_id="other", category="Premium", service_id="internet") == "premium"
    assert pick(client_id="other", category="Standard", service_id="internet") == "svc"
    assert pick(client_id="other", service_id="tv") == "default"


def test_most_specific_extra_norm_overrides_only_its_targets() -> None:
    high = effective_targets(BASE, Facts(priority="high", ticket_type="request"))
    assert (high.first_response_seconds, high.resolution_seconds) == (3600, 4 * 3600)
    complaint = effective_targets(BASE, Facts(priority="high", ticket_type="complaint"))
    assert complaint.resolution_seconds == 3600
    assert effective_targets(BASE, Facts(priority="normal")).resolution_seconds == 86400


def opened(**kw: object) -> t.TicketOpened:
    return t.TicketOpened(channel=Channel.email, number=1, **kw)  # type: ignore[arg-type]


def test_pause_resume_moves_due_and_drops_stale_timers() -> None:
    cat = Catalog(policies=(BASE,))
    clock = domain.apply(None, "T", "e1", opened(classification={"service_id": "internet"}), T0, cat)
    assert clock is not None and clock.policy_id == "svc"
    res = clock.targets["resolution"]
    assert res.due_at == T0 + timedelta(days=1) and res.warn_at == T0 + timedelta(hours=19.2)
    before_ids = {p.id for p in domain.desired_timers(clock, cat)}
    clock = domain.apply(clock, "T", "e2", t.TicketPutOnHold(), T0 + timedelta(hours=1), cat)
    assert clock is not None and clock.paused and not domain.desired_timers(clock, cat)
    clock = domain.apply(clock, "T", "e3", t.TicketResumed(), T0 + timedelta(hours=4), cat)
    assert clock is not None
    assert clock.targets["resolution"].due_at == T0 + timedelta(days=1, hours=3)
    assert not before_ids & {p.id for p in domain.desired_timers(clock, cat)}  # new epoch, new ids
    again = domain.apply(clock, "T", "e3", t.TicketResumed(), T0 + timedelta(hours=9), cat)
    assert again is clock  # redelivery is a no-op


def test_breach_then_ladder_steps_and_nothing_after_resolution() -> None:
    cat = Catalog()
    clock = domain.apply(None, "T", "e1", opened(client=ClientRef(client_id="c")), T0, cat)
    assert clock is not None
    clock = domain.apply(clock, "T", "e2", t.TicketAssigned(agent_id="a", mode="auto"), T0, cat)
    assert clock is not None
    kinds = sorted((p.kind, p.data.get("step")) for p in domain.desired_timers(clock, cat))
    assert ("sla.ladder", 1) in kinds
    breach = next(p for p in domain.desired_timers(clock, cat)
                  if p.kind == domain.BREACH and p.data["target"] == "first_response")
    fired = domain.fire(clock, breach.kind, breach.data, breach.due_at, cat)
    assert fired is not None and [e.TYPE for e in fired.events] == ["SlaBreached"]
    assert [c.TYPE for c in fired.commands] == ["SetFlag"]
    assert domain.fire(fired.clock, breach.kind, breach.data, breach.due_at, cat) is None  # exactly once
    steps = sorted(p.data["step"] for p in domain.desired_timers(fired.clock, cat) if p.kind == domain.LADDER)
    assert steps == [1, 2, 3, 4]
    done = domain.apply(fired.clock, "T", "e3", t.TicketResolved(
        agent_id="a", problem="p", solution="s", channel=Channel.email, sender={}), T0 + timedelta(hours=5), cat)
    assert done is not None and domain.desired_timers(done, cat) == []
    assert done.targets["first_response"].met is False and done.targets["first_response"].breached


def test_deadline_reminders_before_the_deadline() -> None:
    cat = Catalog(reminder_offsets=(86400.0, 3600.0))
    deadline = T0 + timedelta(hours=5)
    clock = domain.apply(None, "T", "e1", opened(deadline=deadline), T0, cat)
    assert clock is not None
    plans = [p for p in domain.desired_timers(clock, cat) if p.kind == domain.DEADLINE]
    assert [p.due_at for p in plans] == [deadline - timedelta(hours=1)]  # 24 h before is already past
    fired = domain.fire(clock, plans[0].kind, plans[0].data, plans[0].due_at, cat)
    assert fired is not None and fired.events[0].remaining_seconds == 3600  # type: ignore[attr-defined]


def _types_apply_handles() -> set[str]:
    """Every ``t.X`` that ``_apply`` tests with isinstance, read from its source."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(domain._apply)))
    return {node.attr for call in ast.walk(tree) if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name) and call.func.id == "isinstance"
            for node in ast.walk(call.args[1]) if isinstance(node, ast.Attribute)}


def test_the_worker_skips_exactly_the_events_apply_ignores() -> None:
    """CLOCK_EVENTS lets the worker skip an event without reading MongoDB: it must name every type
    ``_apply`` acts on (plus TicketOpened, which opens the clock), or an event would be lost."""
    assert {c.__name__ for c in domain.CLOCK_EVENTS} == _types_apply_handles() | {"TicketOpened"}
    catalog = Catalog(policies=(BASE,))
    clock = domain.apply(None, "T-1", "e1", opened(), T0, catalog)
    assert clock is not None
    for msg in (t.NotificationRecorded(notification_id="n", recipient="a@b.c", channel="email", outcome="sent"),
                t.FlagChanged(flag="sla_breached", value=True)):
        assert not domain.moves_clock(msg)
        assert domain.apply(clock, "T-1", "e2", msg, T0 + timedelta(minutes=1), catalog) is clock
    assert domain.moves_clock(t.TicketAssigned(agent_id="ann", mode="auto"))  # type: ignore[arg-type]
