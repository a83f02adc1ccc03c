"""On the real embedded database, every queue read by windows of the copies' queue keys returns the rows of the
single query it stands for: first pages and cursor walks, warm, after tickets move out of a queue, and after
time passes tickets into overdue."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.access.scope import and_all, ticket_scope
from services.gateway.queries import plan
from services.gateway.queries.keys import KEYS_FIELD
from services.gateway.queries.queues import DEFAULT_SORT, Queue, queue_filter, sort_spec
from services.gateway.queries.store import TICKET_INDEXES, TicketFind
from services.gateway.queries.views import TicketViews
from shared.contracts.collections import TICKET_VIEWS, TICKETS
from tests.unit.gateway.test_gateway_plan import NOW, PRINCIPALS, random_docs


class CountingFind(TicketFind):
    """The gateway's ticket reads, noting the queries that went by windows."""

    windows = 0

    async def __call__(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int | None,
                       projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
        self.windows += KEYS_FIELD in query
        return await super().__call__(query, sort, limit, projection)


async def pages(find: TicketFind, parts: list[dict[str, Any]], field: str, direction: int,
                limit: int) -> list[str]:
    seen: list[str] = []
    cursor: tuple[Any, str] | None = None
    while True:
        page = await plan.find_page(find, parts, field, direction, cursor, limit, ["status"])
        seen += [d["_id"] for d in page[:limit]]
        if len(page) <= limit:
            return seen
        cursor = (page[limit - 1][field], page[limit - 1]["_id"])


async def same_rows_as_the_single_query(db: AsyncDatabase[dict[str, Any]], find: TicketFind, now: Any) -> None:
    plain = TicketFind(db[TICKET_VIEWS])
    for p in PRINCIPALS[:4]:
        scope = ticket_scope(p)
        for q in Queue:
            base = queue_filter(q, p.team_agent_ids[0] if p.team_agent_ids else p.user_id, now, timedelta(hours=20))
            field, direction = DEFAULT_SORT[q]
            single = await plain(and_all(base, scope), sort_spec(field, direction), None, {"_id": 1})
            want = [d["_id"] for d in single]
            assert await pages(find, [base, scope], field.value, direction, 40) == want, (p, q)
            first = await plan.find_page(find, [base, scope], field.value, direction, None, 7)
            assert [d["_id"] for d in first] == want[:8], (p, q)


async def test_windowed_queues_return_the_single_querys_rows(db: AsyncDatabase[dict[str, Any]]) -> None:
    for model in TICKET_INDEXES:
        await db[TICKET_VIEWS].create_indexes([model])
    rng = random.Random(11)
    docs = [{**d, "version": 1} for d in random_docs(400, rng)]
    await db[TICKETS].insert_many(docs)
    views = TicketViews(db)
    assert await views.catch_up() == 400
    find = CountingFind(db[TICKET_VIEWS])
    await same_rows_as_the_single_query(db, find, NOW)  # cold, then warm hints in later pages
    await same_rows_as_the_single_query(db, find, NOW)
    assert find.windows > 0

    # tickets leave queues (answered, closed, unflagged) and join others behind the hints' back
    moved = rng.sample(docs, 120)
    for d in moved:
        change = {"status": rng.choice(["closed", "new", "in_progress"]), "last_message_from": rng.choice(["agent",
                  "client"]), "last_client_message_at": NOW - timedelta(hours=rng.randint(0, 100)), "flags": {},
                  "version": 2}
        await db[TICKETS].update_one({"_id": d["_id"]}, {"$set": change})
    assert await views.copy(d["_id"] for d in moved) == 120
    await same_rows_as_the_single_query(db, find, NOW)
    # time passes: deadlines fall behind now, and those tickets join overdue
    later = NOW + timedelta(hours=40)
    overdue = queue_filter(Queue.overdue, "root", later, timedelta(hours=1))
    assert len(await find(overdue, [("created_at", 1)], None)) > len(await find(
        queue_filter(Queue.overdue, "root", NOW, timedelta(hours=1)), [("created_at", 1)], None))
    await same_rows_as_the_single_query(db, find, later)

    # a gateway that starts on these copies seeds its hints from the stored keys
    seeded = CountingFind(db[TICKET_VIEWS])
    await seeded.warm()
    assert seeded.sketch._samples
    await same_rows_as_the_single_query(db, seeded, later)
