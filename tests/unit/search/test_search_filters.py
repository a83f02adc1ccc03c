"""The gateway's ticket scope, translated for the index (pure): every shape ``ticket_scope`` builds is understood and
means the same as ``visible``; any other shape is refused rather than guessed."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.access.principal import Principal, UserRole
from services.gateway.access.scope import NOTHING, ticket_scope, visible
from services.search.domain import NONE
from services.search.filters import EVERYTHING, AllOf, AnyOf, Filter, Range, ScopeError, Term, scope_filter

PRINCIPALS = [
    Principal(user_id="root", role=UserRole.administrator),
    Principal(user_id="u", role=UserRole.client, client_id="C-1"),
    Principal(user_id="u", role=UserRole.client),
    Principal(user_id="ann", role=UserRole.specialist, team_ids=["A"], line_ids=["first", "development"],
              group_ids=["g1"]),
    Principal(user_id="lea", role=UserRole.team_lead, team_ids=["A"], team_agent_ids=["ann", "bob"]),
    Principal(user_id="solo", role=UserRole.specialist),
]
DOCS = [
    {"_id": "1", "client": {"client_id": "C-1"}, "service_team_id": "A", "line": "first"},
    {"_id": "2", "client": {"client_id": "C-2"}, "service_team_id": "B", "line": "first", "assignee_id": "ann"},
    {"_id": "3", "client": {"client_id": "C-2"}, "service_team_id": None, "line": "first"},
    {"_id": "4", "client": None, "service_team_id": None, "line": "second", "group_id": "g1"},
    {"_id": "5", "client": {"client_id": "C-3"}, "service_team_id": "B", "line": "development"},
    {"_id": "6", "client": {"client_id": "C-3"}, "service_team_id": "B", "line": "second", "assignee_id": "bob",
     "participants": [{"user_id": "solo", "role": "watcher"}]},
]


def indexed(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The scope fields as the index holds them (absent: NONE)."""
    return {"ticket_id": [doc["_id"]], "client_id": [(doc.get("client") or {}).get("client_id") or NONE],
            "service_team_id": [doc.get("service_team_id") or NONE], "line": [doc.get("line") or NONE],
            "group_id": [doc.get("group_id") or NONE], "assignee_id": [doc.get("assignee_id") or NONE],
            "participants": [p["user_id"] for p in doc.get("participants") or []]}


def matches(f: Filter, fields: dict[str, list[str]]) -> bool:
    match f:
        case Term(field=field, values=values):
            return bool(set(values) & set(fields[field]))
        case AllOf(parts=parts):
            return all(matches(p, fields) for p in parts)
        case AnyOf(parts=parts):
            return any(matches(p, fields) for p in parts)
    raise AssertionError(f)


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: f"{p.role.value}-{p.user_id}-{p.client_id}")
def test_the_translated_scope_admits_exactly_the_tickets_visible_admits(principal: Principal) -> None:
    f = scope_filter(ticket_scope(principal))
    for doc in DOCS:
        assert matches(f, indexed(doc)) == visible(principal, doc), doc["_id"]


def test_a_client_limited_to_his_own_tickets_is_scoped_by_his_contact() -> None:
    own = {"client.client_id": "C-1", "client.contact_id": "P-7"}
    f = scope_filter(own)
    assert f == AllOf((Term("client_id", ("C-1",)), Term("contact_id", ("P-7",))))
    mine = {"client_id": ["C-1"], "contact_id": ["P-7"]}
    assert matches(f, mine) and not matches(f, {**mine, "contact_id": ["P-8"]})


def test_everything_and_nothing() -> None:
    assert scope_filter({}) == EVERYTHING
    assert scope_filter(NOTHING) == Term("ticket_id", ())


@pytest.mark.parametrize("hostile", [
    {"$where": "1"}, {"line": {"$ne": "x"}}, {"line": {"$regex": "."}}, {"status": "new"}, {"$or": []},
    {"$or": "x"}, {"line": 5}, {"line": {"$in": "abc"}}, {"$nor": [{"line": "a"}]}, {"client.name": "x"},
    {"line": {"$in": ["a"] * 20_000}}, {"$or": [{"$or": [{"$or": [{"$or": [{"$or": [{"$or": [{"$or": [
        {"line": "a"}]}]}]}]}]}]}]},
])
def test_shapes_the_gateway_never_builds_are_refused(hostile: dict[str, Any]) -> None:
    with pytest.raises(ScopeError):
        scope_filter(hostile)


def test_request_filters() -> None:
    from datetime import UTC, datetime

    from services.search.filters import request_filter
    from shared.contracts.search_api import SearchFilters

    at = datetime(2026, 1, 1, tzinfo=UTC)
    f = request_filter(SearchFilters.model_validate({"status": ["new", "offered"], "tag": "vip", "created_from": at}))
    assert f == AllOf((Term("status", ("new", "offered")), Term("tags", ("vip",)), Range("created_at", at, None)))
