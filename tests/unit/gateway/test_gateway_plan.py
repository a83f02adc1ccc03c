"""Splitting a ticket query into index-bounded branches gives the single query's page, order and cursor walk."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.access.principal import Principal, UserRole
from services.gateway.access.scope import ticket_scope
from services.gateway.queries import plan
from services.gateway.queries.queues import DEFAULT_SORT, Queue, SortField, queue_filter

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STATUSES = ["new", "offered", "assigned", "in_progress", "waiting_customer", "resolved", "closed"]
AGENTS = [f"a{i}" for i in range(8)]


# --- a reference matcher for the filter shapes the gateway builds (MongoDB semantics) ----------------------

def _vals(doc: Any, path: list[str]) -> list[Any]:
    return plan._values(doc, path)


def _cmp(op: str, v: Any, bound: Any) -> bool:
    if v is None or type(v) is not type(bound):  # MongoDB compares within a type only
        return False
    return {"$gt": v > bound, "$gte": v >= bound, "$lt": v < bound, "$lte": v <= bound}[op]


def matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, cond in query.items():
        if key == "$or":
            if not any(matches(doc, sub) for sub in cond):
                return False
        elif key == "$and":
            if not all(matches(doc, sub) for sub in cond):
                return False
        elif isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            vals = _vals(doc, key.split("."))
            for op, arg in cond.items():
                if op == "$in":
                    ok = any(plan._eq_holds(doc, key, a) for a in arg)
                elif op == "$ne":
                    ok = not plan._eq_holds(doc, key, arg)
                else:
                    ok = any(_cmp(op, v, arg) for v in vals)
                if not ok:
                    return False
        elif not plan._eq_holds(doc, key, cond):
            return False
    return True


def _sort_key(doc: dict[str, Any], field: str) -> tuple[Any, ...]:
    return (plan._key(doc, field), doc["_id"])


def fake_find(docs: list[dict[str, Any]], calls: list[dict[str, Any]]) -> plan.Find:
    async def find(query: dict[str, Any], sort: list[tuple[str, int]], limit: int | None) -> list[dict[str, Any]]:
        calls.append(query)
        (field, direction), _ = sort
        hits = sorted((d for d in docs if matches(d, query)), key=lambda d: _sort_key(d, field),
                      reverse=direction < 0)
        return hits[:limit] if limit else hits
    return find


def reference(docs: list[dict[str, Any]], query: dict[str, Any], field: str, direction: int) -> list[str]:
    hits = sorted((d for d in docs if matches(d, query)), key=lambda d: _sort_key(d, field), reverse=direction < 0)
    return [d["_id"] for d in hits]


def random_docs(n: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    base = NOW - timedelta(days=3)
    for i in range(n):
        status = rng.choice(STATUSES)
        team = rng.choice(["A", "B", None])
        out.append({
            "_id": f"T-{i:04d}", "status": status, "line": rng.choice(["first", "second", "development"]),
            "group_id": rng.choice(["g1", "g2", None]), "service_team_id": team,
            "client": {"client_id": rng.choice(["C-1", "C-2"])} if team else None,
            "assignee_id": rng.choice([*AGENTS, None]),
            "offered_to": rng.sample(AGENTS, rng.randint(0, 3)),
            "participants": [{"user_id": u} for u in rng.sample(AGENTS, rng.randint(0, 2))],
            "flags": {f: True for f in ("sla_breached", "long_ignored", "lost") if rng.random() < 0.2},
            "unidentified": rng.random() < 0.2, "parent_id": rng.choice([None, None, None, "T-0001"]),
            "deadline": rng.choice([None, NOW + timedelta(minutes=rng.randint(-300, 3000))]),
            "last_message_from": rng.choice(["client", "agent", None]),
            # coarse times: many ties on the sort key, which the cursor must break by _id
            "created_at": base + timedelta(hours=rng.randint(0, 30)),
            "updated_at": base + timedelta(hours=rng.randint(0, 30)),
            "last_client_message_at": base + timedelta(hours=rng.randint(0, 30)),
            "number": i + 1,
        })
    return out


PRINCIPALS = [
    Principal(user_id="root", role=UserRole.administrator),
    Principal(user_id="a1", role=UserRole.specialist, team_ids=["A"], line_ids=["first"]),
    Principal(user_id="a2", role=UserRole.specialist, line_ids=["first", "second"], group_ids=["g1"]),
    Principal(user_id="a3", role=UserRole.team_lead, team_ids=["B"], team_agent_ids=["a1", "a4", "a5"]),
    Principal(user_id="a6", role=UserRole.specialist),
    Principal(user_id="c", role=UserRole.client, client_id="C-1"),
    Principal(user_id="c", role=UserRole.client),
]


async def walk(docs: list[dict[str, Any]], parts: list[dict[str, Any]], field: str, direction: int,
               limit: int) -> tuple[list[str], int]:
    calls: list[dict[str, Any]] = []
    find = fake_find(docs, calls)
    seen: list[str] = []
    cursor: tuple[Any, str] | None = None
    while True:
        page = await plan.find_page(find, parts, field, direction, cursor, limit)
        seen += [d["_id"] for d in page[:limit]]
        if len(page) <= limit:
            return seen, len(calls)
        last = page[limit - 1]
        cursor = (last.get(field), last["_id"])


QueueCase = tuple[tuple[Any, ...], list[dict[str, Any]], dict[str, Any], str, int]


def queue_cases(now: datetime) -> list[QueueCase]:
    """Every queue for every principal, alone and narrowed by a status or a line: the planner's parts, the single
    query they must equal, and the queue's sort."""
    cases: list[QueueCase] = []
    for p in PRINCIPALS:
        scope = ticket_scope(p)
        for q in Queue:
            me = p.team_agent_ids[0] if p.team_agent_ids else p.user_id
            base = queue_filter(q, me, now, timedelta(hours=20))
            field, direction = DEFAULT_SORT[q]
            for extra in ({}, {"status": "new"}, {"line": "first"}):
                parts = [{**base, **({"$and": [extra]} if extra else {})}, scope]
                cases.append(((p, q, extra), parts, {**base, "$and": [scope, extra]}, field.value, direction))
    return cases


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_queue_and_scope_walks_exactly_the_single_querys_order(seed: int) -> None:
    rng = random.Random(seed)
    docs = random_docs(120, rng)
    for case, parts, query, field, direction in queue_cases(NOW):
        got, _ = await walk(docs, parts, field, direction, rng.choice([1, 3, 7]))
        assert got == reference(docs, query, field, direction), case


async def test_ticket_list_sorts_and_filters() -> None:
    docs = random_docs(200, random.Random(9))
    for p in PRINCIPALS[:4]:
        for field in (SortField.created_at, SortField.number, SortField.updated_at):
            for direction in (1, -1):
                for base in ({}, {"status": "assigned"}, {"assignee_id": "a1"}):
                    got, _ = await walk(docs, [base, ticket_scope(p)], field.value, direction, 9)
                    assert got == reference(docs, {**base, "$and": [ticket_scope(p)]}, field.value, direction)


async def test_branches_are_equalities_and_one_range() -> None:
    docs = random_docs(50, random.Random(4))
    calls: list[dict[str, Any]] = []
    base = queue_filter(Queue.overdue, "a1", NOW, timedelta(hours=2))
    p = Principal(user_id="a1", role=UserRole.specialist, team_ids=["A"], line_ids=["first"])
    await plan.find_page(fake_find(docs, calls), [base, ticket_scope(p)], "created_at", 1,
                         (NOW - timedelta(days=2), "T-0010"), 5)
    assert calls
    for query in calls:
        assert not any(k.startswith("$") for k in query)
        ops = [v for v in query.values() if isinstance(v, dict)]
        ranges = [o for o in ops if set(o) <= plan.RANGE_OPS]
        assert len(ranges) <= 1 and all(o in ranges or set(o) == {"$in"} for o in ops)
        if any("$in" in o for o in ops):  # a scoped branch: led by the scope's equality
            assert next(iter(query)) in ("assignee_id", "offered_to", "participants.user_id", "service_team_id")


async def test_nothing_scope_asks_nothing_and_unknown_shapes_are_refused() -> None:
    calls: list[dict[str, Any]] = []
    assert await plan.find_page(fake_find([], calls), [{"status": "new"}, {"_id": {"$in": []}}], "number", 1,
                                None, 5) == []
    assert calls == []
    with pytest.raises(plan.Unsupported):
        plan.branches({"subject": {"$regex": "x"}})
    with pytest.raises(plan.Unsupported):
        await plan.find_page(fake_find([], calls), [{"status": "new"}], "deadline", 1, (None, "T"), 5)


def test_scope_branches_implied_by_the_queue_are_not_repeated() -> None:
    lead = Principal(user_id="a3", role=UserRole.team_lead, team_ids=["B"], team_agent_ids=["a1", "a4"])
    # the lead's agent's own tickets are in the lead's scope (an offer is not: it grants no sight)
    agents = plan.branches(queue_filter(Queue.mine, "a1", NOW, timedelta(hours=1)))
    assert plan.plan_branches([queue_filter(Queue.mine, "a1", NOW, timedelta(hours=1))], ticket_scope(lead)) == agents
    mine = plan.plan_branches([queue_filter(Queue.mine, "a9", NOW, timedelta(hours=1))], ticket_scope(lead))
    assert all(next(iter(b)) in ("assignee_id", "offered_to", "participants.user_id", "service_team_id")
               for b in mine)  # outside the scope: the scope's equality leads, the status $in stays whole
    assert plan._tighten({"$gte": 1, "$lte": 9}, 3, 1) == {"$gt": 3, "$lte": 9}
    assert plan._tighten({"$gte": 5, "$lte": 9}, 3, 1) == {"$gte": 5, "$lte": 9}
    assert plan._tighten({}, 3, -1) == {"$lt": 3}


async def test_a_queue_of_mine_leads_every_query_with_a_person_not_the_line() -> None:
    """A line's unteamed tickets are every one it ever had; my offers are a few: the database reads what leads."""
    calls: list[dict[str, Any]] = []
    p = Principal(user_id="a2", role=UserRole.specialist, line_ids=["first"])
    await plan.find_page(fake_find(random_docs(30, random.Random(5)), calls),
                         [queue_filter(Queue.offers, "a2", NOW, timedelta(hours=1)), ticket_scope(p)], "updated_at",
                         -1, None, 5)
    assert len(calls) >= 2 and any("line" in query for query in calls)
    assert all(next(iter(query)) in plan.PERSONAL_FIELDS for query in calls), calls
