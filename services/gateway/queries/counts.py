"""How many tickets match a filter, asked in the shapes the queue pages use (see :mod:`.plan`).

One ``count_documents`` over a ``$or``/``$in`` filter scans the whole collection on the embedded database
(docs/embedded-database.md), so a count is planned like a page: one index-bounded query per branch. Branches
that exclude each other (different values of one scalar field) are counted by the database and summed;
otherwise a ticket may match two branches, so their ``_id``s are fetched and counted once.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from .plan import SCALAR_FIELDS, Branch, BranchQuery, Unsupported, plan_branches

CONCURRENCY = 8


def _pinned(b: Branch) -> dict[str, str]:
    return {f: repr(c[1]) for f, conds in b.items() if f in SCALAR_FIELDS for c in conds if c[0] == "eq"}


def disjoint(branches: list[Branch]) -> bool:
    """Every two branches pin some scalar field to different values: no ticket matches two of them."""
    pins = [_pinned(b) for b in branches]
    return all(any(f in b and b[f] != v for f, v in a.items()) for a, b in itertools.combinations(pins, 2))


async def count_tickets(tickets: AsyncCollection[dict[str, Any]], parts: list[dict[str, Any]]) -> int:
    """Tickets matching all of ``parts`` (the base filters, then the role scope last; ``{}``: everything)."""
    try:
        plan = plan_branches(parts[:-1], parts[-1])
        bqs = [BranchQuery(b, "_id", 1, None, 0) for b in plan]
    except Unsupported:
        return await tickets.count_documents({"$and": [p for p in parts if p]} if any(parts) else {})
    gate = asyncio.Semaphore(CONCURRENCY)
    if disjoint(plan) and not any(bq.residual for bq in bqs):
        async def count(bq: BranchQuery) -> int:
            async with gate:
                return await tickets.count_documents(bq.queries()[0][0])
        return sum(await asyncio.gather(*(count(bq) for bq in bqs)))

    async def ids(bq: BranchQuery) -> set[str]:
        fields = {"_id": 1, **{f: 1 for f, _ in bq.residual}}
        async with gate:
            return {d["_id"] async for d in tickets.find(bq.queries()[0][0], fields) if bq.accept(d)}
    return len(set().union(*await asyncio.gather(*(ids(bq) for bq in bqs))))
