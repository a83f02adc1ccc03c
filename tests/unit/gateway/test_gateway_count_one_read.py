"""The navigation's counts from one read of the active tickets equal each queue counted on its own, capped alike."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from test_gateway_plan import NOW, PRINCIPALS, matches, random_docs

from services.gateway.access.scope import ticket_scope
from services.gateway.queries import counts
from services.gateway.queries.plan import branches
from services.gateway.queries.queues import Queue, queue_filter


class Tickets:
    """The two reads counts.py makes of a collection, answered from a list with MongoDB's meaning."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs, self.finds = docs, []  # type: list[dict[str, Any]], list[tuple[dict[str, Any], int]]

    def find(self, query: dict[str, Any], fields: dict[str, int], limit: int = 0) -> AsyncIterator[dict[str, Any]]:
        self.finds.append((query, limit))
        hits = [d for d in self.docs if matches(d, query)][:limit or None]

        async def each() -> AsyncIterator[dict[str, Any]]:
            for d in hits:  # only the fields asked for: a filter on a field left out would see it missing
                yield {f: d[f] for f in d if f in fields or f == "_id" or any(k.startswith(f + ".") for k in fields)}
        return each()

    async def count_documents(self, query: dict[str, Any], limit: int = 0) -> int:
        n = sum(matches(d, query) for d in self.docs)
        return min(n, limit) if limit else n


def filters(me: str) -> dict[Queue, dict[str, Any]]:
    return {q: queue_filter(q, me, NOW, timedelta(hours=20)) for q in Queue}


def expected(docs: list[dict[str, Any]], me: str, scope: dict[str, Any], cap: int) -> dict[Queue, int]:
    return {q: min(cap + 1, sum(matches(d, {**f, "$and": [scope]}) for d in docs)) for q, f in filters(me).items()}


async def test_one_read_counts_every_queue_as_its_own_count_would() -> None:
    docs = random_docs(300, random.Random(5))
    for p in PRINCIPALS:
        me = p.team_agent_ids[0] if p.team_agent_ids else p.user_id
        for cap in (3, 99):
            tickets = Tickets(docs)
            got = await counts.count_queues(tickets, filters(me), ticket_scope(p), cap)  # type: ignore[arg-type]
            assert got == expected(docs, me, ticket_scope(p), cap), (p, cap)
            # one query per branch of "active and in scope", however many queues
            assert len(tickets.finds) <= 6 and all(limit == counts.ONE_READ_LIMIT + 1 for _, limit in tickets.finds)


async def test_past_the_one_read_limit_each_queue_is_counted_on_its_own_up_to_the_cap(monkeypatch: Any) -> None:
    docs = random_docs(300, random.Random(6))
    monkeypatch.setattr(counts, "ONE_READ_LIMIT", 10)
    p = PRINCIPALS[0]  # the administrator: every active ticket is a candidate
    tickets = Tickets(docs)
    got = await counts.count_queues(tickets, filters("a1"), ticket_scope(p), 4)  # type: ignore[arg-type]
    assert got == expected(docs, "a1", ticket_scope(p), 4)
    assert len(tickets.finds) > 1 and all(0 < limit <= 11 for _, limit in tickets.finds)


def test_every_queue_holds_only_active_tickets_so_one_read_of_them_is_enough() -> None:
    for q in Queue:
        assert counts.only_active(branches(queue_filter(q, "a1", NOW, timedelta(hours=1)), split_in=False)), q
    assert not counts.only_active(branches({"assignee_id": "a1"}, split_in=False))
    assert not counts.only_active(branches({"status": {"$in": ["new", "closed"]}}, split_in=False))


def test_ranges_compare_within_one_type_and_arrays_match_by_element() -> None:
    doc = {"_id": "T", "deadline": NOW, "offered_to": ["a1", "a2"], "parent_id": None}
    assert counts.matches(doc, branches({"deadline": {"$gte": NOW - timedelta(1), "$lt": NOW + timedelta(1)}}))
    assert not counts.matches(doc, branches({"deadline": {"$gte": "1970"}}))  # a date is not a string
    assert counts.matches(doc, branches({"offered_to": "a2"}))
    assert not counts.matches(doc, branches({"parent_id": {"$gte": ""}}))  # null is in no range
    assert counts.matches(doc, branches({"flags.lost": None}))  # a missing field equals null
