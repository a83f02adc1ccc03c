"""Queues read by windows of the stored queue keys give exactly the single query's pages, warm or stale hint."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.access.principal import Principal, UserRole
from services.gateway.access.scope import ticket_scope
from services.gateway.queries import plan
from services.gateway.queries.keys import KEY_SPECS, KEYS_FIELD, queue_keys, shaped, spec_for, token, users
from services.gateway.queries.queues import Queue, queue_filter
from services.gateway.queries.windows import Sketch
from tests.unit.gateway.test_gateway_plan import NOW, fake_find, queue_cases, random_docs, reference


class WindowedFind:
    """The fake database of the plan tests, with the sketch that turns the windows on.

    It matches as MongoDB does (a range on an array may hold by two different keys); ``read`` counts what the
    embedded database's index range reads: the tickets with a key inside the window.
    """

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs, self.calls, self.sketch = docs, [], Sketch()
        self.read = 0

    async def __call__(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int | None,
                       projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
        found = await fake_find(self.docs, self.calls)(query, sort, limit)
        window = query.get(KEYS_FIELD)
        self.read += len(found) if window is None else sum(
            any(window["$gte"] <= k < window["$lt"] for k in d[KEYS_FIELD]) for d in found)
        return found


async def walk_pages(find: WindowedFind, parts: list[dict[str, Any]], field: str, direction: int,
                     limit: int) -> list[str]:
    seen: list[str] = []
    cursor: tuple[Any, str] | None = None
    while True:
        page = await plan.find_page(find, parts, field, direction, cursor, limit)
        seen += [d["_id"] for d in page[:limit]]
        if len(page) <= limit:
            return seen
        cursor = (page[limit - 1].get(field), page[limit - 1]["_id"])


async def every_queue_matches(find: WindowedFind, now: datetime, rng: random.Random) -> None:
    for case, parts, query, field, direction in queue_cases(now):
        got = await walk_pages(find, parts, field, direction, rng.choice([1, 3, 7]))
        assert got == reference(find.docs, query, field, direction), case


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_windows_walk_every_queue_as_the_single_query_cold_warm_and_stale(seed: int) -> None:
    rng = random.Random(seed)
    docs = [shaped(d) for d in random_docs(150, rng)]
    find = WindowedFind(docs)
    await every_queue_matches(find, NOW, rng)  # cold: the first window of a branch is open
    assert any(KEYS_FIELD in q for q in find.calls), "no queue was read by windows"
    await every_queue_matches(find, NOW, rng)  # warm hint
    # tickets move out of queues and into others, and time passes into overdue, behind the hint's back
    for d in rng.sample(docs, 60):
        d.update(status=rng.choice(["closed", "new", "in_progress"]), last_message_from=rng.choice(["client", None]),
                 last_client_message_at=NOW - timedelta(hours=rng.randint(0, 90)),
                 flags={"lost": True} if rng.random() < 0.3 else {})
        d.update(shaped({k: v for k, v in d.items() if k != KEYS_FIELD}))
    await every_queue_matches(find, NOW + timedelta(hours=30), rng)


async def test_a_warm_window_reads_about_a_page_not_the_queue() -> None:
    rng = random.Random(5)
    docs = [shaped({**d, "status": rng.choice(["new", "assigned"]), "last_message_from": "client",
                    "last_client_message_at": NOW - timedelta(minutes=rng.randint(0, 50_000))})
            for d in random_docs(3000, rng)]
    find = WindowedFind(docs)
    base = queue_filter(Queue.needs_reply, "root", NOW, timedelta(hours=1))
    members = len(reference(docs, base, "last_client_message_at", 1))
    await plan.find_page(find, [base, {}], "last_client_message_at", 1, None, 20)  # cold: learns the sketch
    find.read = 0
    page = await plan.find_page(find, [base, {}], "last_client_message_at", 1, None, 20)
    assert [d["_id"] for d in page] == reference(docs, base, "last_client_message_at", 1)[:21]
    assert find.read < members / 20, (find.read, members)  # one window of about 3 samples (both statuses)


def test_queue_keys_follow_the_ticket_in_and_out_of_its_queues() -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    doc = {"_id": "T-1", "status": "new", "last_message_from": "client", "last_client_message_at": at,
           "created_at": at, "service_team_id": "A", "line": "first", "flags": {"lost": True}, "deadline": None}
    keys = queue_keys(doc)
    assert f'nr["client"]|{token(at)}' in keys and f'nrt["client","A"]|{token(at)}' in keys
    assert not any(k.startswith(("od", "tl", "nrl")) for k in keys)  # no deadline; a team's, not a line's
    assert not [k for k in queue_keys({**doc, "last_message_from": "agent"}) if k.startswith("nr")]
    assert queue_keys({**doc, "status": "closed"}) == []  # a finished ticket is in no queue
    later = at + timedelta(hours=1)
    assert {k for k in queue_keys({**doc, "deadline": later}) if k.startswith("tl[")} == {f"tl[]|{token(later)}"}
    assert queue_keys({**doc, "status": "in_progress"}) == keys  # one key for every active status
    assert shaped(doc)[KEYS_FIELD] == keys


def test_tokens_order_like_the_datetimes_and_null_first() -> None:
    times = [datetime(1969, 5, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
             datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC), datetime(2031, 7, 1)]  # naive: UTC
    tokens = [token(t) for t in times]
    assert tokens == sorted(tokens) and len(set(tokens)) == 4 and len({len(t) for t in tokens}) == 1
    assert token(None) == "" < tokens[0]
    assert token(datetime(2026, 1, 1, 0, 0, 0, 999, tzinfo=UTC)) == tokens[1]  # BSON keeps milliseconds


def test_a_spec_fits_only_exactly_the_branchs_equalities() -> None:
    assert spec_for({"status": "new", "last_message_from": "client"}, None, "last_client_message_at")
    assert spec_for({"status": "new", "last_message_from": "agent"}, None, "last_client_message_at") is None
    assert spec_for({"status": "closed", "last_message_from": "client"}, None, "last_client_message_at") is None
    assert spec_for({"status": "new", "last_message_from": "client", "assignee_id": "a"}, None,
                    "last_client_message_at")  # a specialist's own tickets: his scope's first branch
    assert spec_for({"status": "new", "last_message_from": "client", "assignee_id": "a", "line": "first"}, None,
                    "last_client_message_at") is None
    assert spec_for({"status": "new", "last_message_from": "client"}, None, "created_at") is None
    assert spec_for({"status": "new"}, "deadline", "created_at")  # overdue: the range keeps deadline off null
    assert spec_for({"status": "new"}, None, "created_at") is None
    assert spec_for({"status": {"$in": ["new", "assigned"]}, "flags.lost": True}, None, "created_at")
    assert spec_for({"status": {"$in": ["new", "closed"]}, "flags.lost": True}, None, "created_at") is None
    assert spec_for({"flags.lost": True}, None, "created_at") is None  # a finished ticket has no keys
    names = [s.name for s in KEY_SPECS]
    assert len(names) == len(set(names))


def test_the_sketch_guesses_a_window_and_forgets_what_a_read_replaced() -> None:
    sk = Sketch()
    assert sk.ahead("k", None, 10, 1) is None  # unknown: the first window is open
    tokens = [f"{i:03d}" for i in range(200)]
    sk.learn("k", None, None, tokens)
    far = sk.ahead("k", None, 20, 1)
    assert far is not None and 20 <= tokens.index(far) <= 20 + 2 * 16
    near = sk.ahead("k", "150", 20, -1)
    assert near is not None and 150 - 2 * 16 - 20 <= tokens.index(near) <= 130
    sk.learn("k", "000", "100", [])  # those tickets left: the window past them is guessed from what is left
    assert sk.ahead("k", None, 20, 1) is not None and sk.ahead("k", None, 20, 1) > "100"


async def test_offers_and_mine_are_one_window_each_offers_keyed_by_every_agent_offered() -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    offered = {"_id": "T-1", "status": "offered", "offered_to": ["ann", "bob", "ann"], "service_team_id": "A",
               "created_at": at, "updated_at": at}
    keys = queue_keys(offered)
    assert {k for k in keys if k.startswith("of[")} == {f'of["ann"]|{token(at)}', f'of["bob"]|{token(at)}'}
    assert f'oft["bob","A"]|{token(at)}' in keys
    mine = {**offered, "status": "waiting_customer", "offered_to": [], "assignee_id": "ann"}
    assert [k for k in queue_keys(mine) if k.startswith(("of", "mn"))] == [f'mn["ann"]|{token(at)}']
    rng = random.Random(11)
    docs = [shaped(d) for d in random_docs(400, rng)]
    for queue, me in ((Queue.offers, "a1"), (Queue.mine, "a2")):
        find = WindowedFind(docs)
        base = queue_filter(queue, me, NOW, timedelta(hours=1))
        field, direction = ("updated_at", 1) if queue == Queue.offers else ("updated_at", -1)
        for _ in range(2):  # cold, then warm
            find.calls = []
            page = await plan.find_page(find, [base, {}], field, direction, None, 5)
            assert [d["_id"] for d in page] == reference(docs, base, field, direction)[:6], queue
            assert len(find.calls) == 1 and KEYS_FIELD in find.calls[0], find.calls  # every status in one read


async def test_a_persons_own_tickets_in_a_staff_scope_are_one_window_assignee_and_participant_alike() -> None:
    rng = random.Random(12)
    docs = [shaped(d) for d in random_docs(400, rng)]
    a1 = Principal(user_id="a1", role=UserRole.specialist, team_ids=["A"], line_ids=["first"])
    base, scope = queue_filter(Queue.needs_reply, "a1", NOW, timedelta(hours=1)), ticket_scope(a1)
    find = WindowedFind(docs)
    for cursor in (None, None):  # cold, then warm
        find.calls = []
        page = await plan.find_page(find, [base, scope], "last_client_message_at", 1, cursor, 9)
        want = reference(docs, {**base, "$and": [scope]}, "last_client_message_at", 1)[:10]
        assert [d["_id"] for d in page] == want
        persons = [q for q in find.calls if str(q.get(KEYS_FIELD, {}).get("$gte", "")).startswith('nru["a1"')]
        assert len(persons) >= 1 and not any("participants.user_id" in q or "assignee_id" in q for q in persons)
        assert not [q for q in find.calls if "participants.user_id" in q], "no query of its own for participants"
        assert not [q for q in find.calls if "assignee_id" in q], "nor for his tickets as assignee"
        # his own, his team's, his line's tickets without a team (a window may be widened by a second read)
        assert {q[KEYS_FIELD]["$gte"].split("[")[0] for q in find.calls} == {"nru", "nrt", "nrl"}, find.calls
    mine = [d for d in docs if d.get("status") in ("new", "assigned") and "a1" in users(d)]
    assert any(d.get("assignee_id") != "a1" for d in mine), "the sample holds tickets a1 only takes part in"
