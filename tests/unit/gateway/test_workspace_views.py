"""The workspace reads' pure parts: when branch counts may be summed, and the SLA targets as staff see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.gateway.access.principal import Principal, UserRole
from services.gateway.access.scope import ticket_scope
from services.gateway.queries.counts import disjoint
from services.gateway.queries.plan import plan_branches
from services.gateway.queries.queues import Queue, queue_filter
from services.gateway.queries.sla_view import sla_view

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ANN = Principal(user_id="ann", role=UserRole.specialist, team_ids=["A"], line_ids=["first"])


def _plan(queue: Queue, p: Principal) -> list[dict[str, list[tuple[str, object]]]]:
    return plan_branches([queue_filter(queue, "ann", NOW, timedelta(hours=2))], ticket_scope(p))


def test_branches_split_by_status_are_summed_but_overlapping_scopes_are_not() -> None:
    admin = Principal(user_id="root", role=UserRole.administrator)
    assert disjoint(_plan(Queue.unidentified, admin))  # one branch per active status
    assert disjoint(_plan(Queue.mine, ANN))  # my tickets: the scope is implied, split by status only
    # a ticket may be ann's and her team's at once: two scope branches, counted by id
    assert not disjoint(_plan(Queue.needs_reply, ANN))
    # breached and past its deadline at once: the two halves of overdue overlap
    assert not disjoint(_plan(Queue.overdue, admin))
    assert disjoint([])


def _target(**kw: object) -> dict[str, object]:
    return {"target_seconds": 36000.0, "started_at": NOW, "due_at": NOW + timedelta(days=1), "warn_at": NOW,
            "running_since": NOW, "used_before": 0.0, "met_at": None, "met": None, "breached": False,
            "warned": False, "epoch": 3, **kw}


def test_a_running_target_counts_down_to_the_sla_services_due_instant() -> None:
    view = sla_view({"_id": "T-1", "policy_id": "p", "calendar_id": "office", "targets": {"resolution": _target()},
                     "outbox": [{"secret": 1}], "applied": ["e1"], "ladder_fired": {}})
    target = view.targets["resolution"]
    assert target.running and target.due_at == NOW + timedelta(days=1) and target.paused_seconds_left is None
    assert set(view.model_dump()) == {"policy_id", "calendar_id", "paused", "deadline", "targets"}


def test_a_paused_target_is_frozen_not_due_at_its_stale_instant() -> None:
    view = sla_view({"policy_id": "p", "calendar_id": "office", "paused": True,
                     "targets": {"resolution": _target(running_since=None, used_before=4000.0)}})
    target = view.targets["resolution"]
    assert not target.running and target.due_at is None and target.warn_at is None
    assert target.paused_seconds_left == 32000.0 and target.business_seconds_used == 4000.0


def test_a_met_or_breached_target_says_so_and_has_nothing_to_count() -> None:
    view = sla_view({"policy_id": "p", "calendar_id": "office", "targets": {
        "first_response": _target(running_since=None, met_at=NOW, met=True),
        "resolution": _target(breached=True, breached_at=NOW, warned=True, used_before=40000.0)}})
    met, breached = view.targets["first_response"], view.targets["resolution"]
    assert met.met is True and met.due_at is None and met.paused_seconds_left is None
    assert breached.breached and breached.warned and breached.running and breached.due_at is not None
