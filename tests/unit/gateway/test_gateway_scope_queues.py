"""Pure rules: who sees which ticket, what each queue selects, and the pagination cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.access.principal import Principal, UserRole, principal_from_claims, role_from_claims
from services.gateway.access.scope import NOTHING, may_act_for, ticket_scope, visible
from services.gateway.queries.queues import (
    CursorError,
    Queue,
    SortField,
    after_cursor,
    check_sort,
    queue_filter,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def spec(**kw: object) -> Principal:
    return Principal(user_id=str(kw.pop("user_id", "ann")), role=kw.pop("role", UserRole.specialist), **kw)  # type: ignore[arg-type]


def test_team_ticket_is_visible_only_to_its_team_even_on_a_shared_line() -> None:
    a = spec(line_ids=["first"], team_ids=["A"])
    b = spec(user_id="carol", line_ids=["first"], team_ids=["B"])
    ticket_a = {"_id": "T", "line": "first", "service_team_id": "A"}
    assert visible(a, ticket_a) and not visible(b, ticket_a)
    unteamed = {"_id": "U", "line": "first", "service_team_id": None}
    assert visible(a, unteamed) and visible(b, unteamed)
    assert not visible(spec(line_ids=["second"]), unteamed)
    assert visible(spec(group_ids=["g1"]), {"_id": "G", "group_id": "g1"})


def test_assignment_and_participation_grant_sight_an_offer_does_not() -> None:
    p = spec(user_id="zed")
    for doc in ({"assignee_id": "zed"}, {"participants": [{"user_id": "zed"}]}):
        assert visible(p, {"_id": "T", "service_team_id": "other", **doc})
    for status in ("offered", "assigned", "resolved"):
        assert not visible(p, {"_id": "T", "service_team_id": "other", "status": status, "offered_to": ["zed"]})
    lead = spec(user_id="lea", role=UserRole.team_lead, team_ids=["A"], team_agent_ids=["zed"])
    assert not visible(lead, {"_id": "T", "service_team_id": "other", "offered_to": ["zed"]})
    for scope in (ticket_scope(p), ticket_scope(lead)):
        assert "offered_to" not in repr(scope)


def test_the_development_line_sees_its_tickets_whatever_the_clients_team() -> None:
    dev = spec(user_id="dev", line_ids=["development", "second"])
    sub = {"_id": "T-dev", "line": "development", "service_team_id": "B", "parent_id": "T"}
    assert visible(dev, sub) and visible(dev, {**sub, "parent_id": None})  # a sub-ticket, or escalated there
    assert not visible(dev, {**sub, "line": "second"})  # a team's ticket elsewhere stays the team's
    assert not visible(spec(line_ids=["first"], team_ids=["A"]), sub)
    assert {"line": {"$in": ["development"]}} in ticket_scope(dev)["$or"]


def test_leads_see_their_team_agents_tickets_and_act_for_them() -> None:
    lead = spec(user_id="lea", role=UserRole.team_lead, team_ids=["A"], team_agent_ids=["ann", "bob"])
    assert visible(lead, {"_id": "T", "service_team_id": "B", "assignee_id": "bob"})
    assert not visible(lead, {"_id": "T", "service_team_id": "B", "assignee_id": "carol"})
    assert may_act_for(lead, "bob") and not may_act_for(lead, "carol")
    assert not may_act_for(spec(), "bob") and may_act_for(spec(), "ann")
    assert may_act_for(spec(role=UserRole.administrator), "anyone")


def test_clients_and_admins() -> None:
    client = spec(user_id="u1", role=UserRole.client, client_id="C-1")
    assert visible(client, {"client": {"client_id": "C-1"}}) and not visible(client, {"client": {"client_id": "C-2"}})
    assert not visible(client, {"client": None})
    assert ticket_scope(client) == {"client.client_id": "C-1"}
    assert ticket_scope(spec(role=UserRole.client)) == NOTHING
    assert ticket_scope(spec(role=UserRole.administrator)) == {}
    scope = ticket_scope(spec(line_ids=["first"], team_ids=["A"]))
    assert {"service_team_id": {"$in": ["A"]}} in scope["$or"]
    assert {"$and": [{"service_team_id": None}, {"$or": [{"line": {"$in": ["first"]}}]}]} in scope["$or"]


def test_roles_from_claims() -> None:
    assert role_from_claims({"role": "specialist"}) == UserRole.specialist
    assert role_from_claims({"roles": ["specialist", "team_lead"]}) == UserRole.team_lead
    assert role_from_claims({"realm_access": {"roles": ["offline_access", "administrator"]}}) == UserRole.administrator
    assert role_from_claims({"roles": ["janitor"]}) is None
    p = principal_from_claims({"sub": "ann", "role": "client", "client_id": "C-1", "teams": "A B"})
    assert p is not None and p.client_id == "C-1" and p.team_ids == ["A", "B"]
    assert principal_from_claims({"role": "specialist"}) is None


def test_queue_filters() -> None:
    w = timedelta(hours=2)
    assert queue_filter(Queue.offers, "ann", NOW, w) == {"offered_to": "ann", "status": "offered"}
    assert queue_filter(Queue.mine, "ann", NOW, w)["assignee_id"] == "ann"
    tl = queue_filter(Queue.time_limit, "ann", NOW, w)
    assert tl["deadline"] == {"$gte": NOW, "$lte": NOW + w}
    assert {"flags.sla_breached": True} in queue_filter(Queue.overdue, "ann", NOW, w)["$or"]
    assert queue_filter(Queue.needs_reply, "ann", NOW, w)["last_message_from"] == "client"
    for q in Queue:
        f = queue_filter(q, "ann", NOW, w)
        statuses = f["status"] if isinstance(f["status"], str) else f["status"]["$in"]
        assert "closed" not in statuses and "resolved" not in statuses


def test_cursor_bounds_and_sort_guards() -> None:
    """The cursor itself (signing, shape) is tested in test_gateway_cursors."""
    assert after_cursor(SortField.updated_at, -1, NOW, "T-9") == {
        "$or": [{"updated_at": {"$lt": NOW}}, {"updated_at": NOW, "_id": {"$lt": "T-9"}}]}
    with pytest.raises(CursorError):
        check_sort(Queue.offers, SortField.deadline)
    check_sort(Queue.time_limit, SortField.deadline)


def test_and_all_keeps_conditions_flat_without_losing_any() -> None:
    from services.gateway.access.scope import and_all

    assert and_all({}, {"status": "new"}, {"line": "first"}) == {"status": "new", "line": "first"}
    merged = and_all({"$or": [{"a": 1}]}, {"status": "new", "$or": [{"b": 2}]}, {"status": "offered"})
    assert merged == {"$or": [{"a": 1}], "status": "new", "$and": [{"$or": [{"b": 2}]}, {"status": "offered"}]}
    assert and_all({"$and": [{"x": 1}]}, {"x": 2}) == {"x": 2, "$and": [{"x": 1}]}
