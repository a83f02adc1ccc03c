"""How many tickets match a filter, asked in the shapes the queue pages use (see :mod:`.plan`), counted up to a cap.

One ``count_documents`` over a ``$or``/``$in`` filter scans the whole collection on the embedded database
(docs/embedded-database.md), so a count is planned like a page: one index-bounded query per branch. Branches
that exclude each other (different values of one scalar field) are counted by the database and summed;
otherwise a ticket may match two branches, so their ``_id``s are fetched and counted once. Every query stops at
``cap + 1``: a badge says "99+", and a long queue costs no more to count than a short one.

The navigation's ten counts (:func:`count_queues`) read the caller's active tickets once, with only the fields the
queues look at, and count each queue among them: the embedded database reads every candidate document of a query
whole, so ten counts over the same tickets cost ten times one read. Past ``ONE_READ_LIMIT`` tickets, or for a
queue that could hold a ticket that is not active, each queue is counted on its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Hashable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.contracts.schemas.common import ACTIVE_STATUSES

from .plan import SCALAR_FIELDS, Branch, BranchQuery, Unsupported, _eq_holds, _values, branches, plan_branches

CONCURRENCY = 8
ONE_READ_LIMIT = 2000
ACTIVE = frozenset(s.value for s in ACTIVE_STATUSES)


def _pinned(b: Branch) -> dict[str, str]:
    return {f: repr(c[1]) for f, conds in b.items() if f in SCALAR_FIELDS for c in conds if c[0] == "eq"}


def disjoint(branches: list[Branch]) -> bool:
    """Every two branches pin some scalar field to different values: no ticket matches two of them."""
    pins = [_pinned(b) for b in branches]
    return all(any(f in b and b[f] != v for f, v in a.items()) for a, b in itertools.combinations(pins, 2))


async def count_tickets(tickets: AsyncCollection[dict[str, Any]], parts: list[dict[str, Any]],
                        cap: int | None = None) -> int:
    """Tickets matching all of ``parts`` (the base filters, then the role scope last; ``{}``: everything), counted
    up to ``cap + 1`` (more than ``cap``); all of them without a cap."""
    most = 0 if cap is None else cap + 1  # 0: no limit
    try:
        plan = plan_branches(parts[:-1], parts[-1])
        bqs = [BranchQuery(b, "_id", 1, None, 0) for b in plan]
    except Unsupported:
        query = {"$and": [p for p in parts if p]} if any(parts) else {}
        return await tickets.count_documents(query, **_limit(most))
    gate = asyncio.Semaphore(CONCURRENCY)
    if disjoint(plan) and not any(bq.residual for bq in bqs):
        async def count(bq: BranchQuery) -> int:
            async with gate:
                return await tickets.count_documents(bq.queries()[0][0], **_limit(most))
        return _at_most(most, sum(await asyncio.gather(*(count(bq) for bq in bqs))))

    async def ids(bq: BranchQuery) -> set[str]:
        fields = {"_id": 1, **{f: 1 for f, _ in bq.residual}}
        async with gate:  # a branch with residual checks reads all it matches: the checks drop some
            found = tickets.find(bq.queries()[0][0], fields, limit=0 if bq.residual else most)
            return {d["_id"] async for d in found if bq.accept(d)}
    return _at_most(most, len(set().union(*await asyncio.gather(*(ids(bq) for bq in bqs)))))


def _limit(most: int) -> dict[str, Any]:
    return {"limit": most} if most else {}


def _at_most(most: int, n: int) -> int:
    return min(most, n) if most else n


def _holds(doc: dict[str, Any], field: str, kind: str, arg: Any) -> bool:
    """One condition of a branch, with MongoDB's meaning (arrays match by element, ranges within one type)."""
    if kind == "eq":
        return _eq_holds(doc, field, arg)
    if kind == "in":
        return any(_eq_holds(doc, field, v) for v in arg)
    values = [v for v in _values(doc, field.split(".")) if v is not None and not isinstance(v, list | dict)]
    ops = {"$gt": lambda v, b: v > b, "$gte": lambda v, b: v >= b, "$lt": lambda v, b: v < b,
           "$lte": lambda v, b: v <= b}
    return any(all(type(v) is type(b) and ops[op](v, b) for op, b in arg.items()) for v in values)


def matches(doc: dict[str, Any], dnf: list[Branch]) -> bool:
    return any(all(_holds(doc, f, kind, arg) for f, conds in b.items() for kind, arg in conds) for b in dnf)


def only_active(dnf: list[Branch]) -> bool:
    """Every branch pins the status to active ones: the queue never holds a ticket that is not active."""
    def active(conds: list[tuple[str, Any]]) -> bool:
        return any((kind == "eq" and arg in ACTIVE) or (kind == "in" and set(arg) <= ACTIVE) for kind, arg in conds)
    return all(active(b.get("status", [])) for b in dnf)


async def count_queues(tickets: AsyncCollection[dict[str, Any]], filters: Mapping[Hashable, dict[str, Any]],
                       scope: dict[str, Any], cap: int) -> dict[Hashable, int]:
    """Each filter's tickets within ``scope``, up to ``cap + 1``: from one read of the active tickets when it can."""
    try:
        dnfs = {key: branches(f, split_in=False) for key, f in filters.items()}
        plan = plan_branches([{"status": {"$in": sorted(ACTIVE)}}], scope)
        bqs = [BranchQuery(b, "_id", 1, None, ONE_READ_LIMIT) for b in plan]
    except Unsupported:
        dnfs, bqs = {}, []
    if dnfs and all(only_active(d) for d in dnfs.values()) and not any(bq.residual for bq in bqs):
        fields = {"_id": 1, **{f: 1 for d in dnfs.values() for b in d for f in b}}
        docs: dict[str, dict[str, Any]] = {}
        for bq in bqs:  # one at a time: the embedded database answers one request at a time anyway
            batch = [d async for d in tickets.find(bq.queries()[0][0], fields, limit=ONE_READ_LIMIT + 1)]
            docs.update((d["_id"], d) for d in batch)
            if len(batch) > ONE_READ_LIMIT:
                break
        else:
            return {key: min(cap + 1, sum(matches(d, dnf) for d in docs.values())) for key, dnf in dnfs.items()}
    found = await asyncio.gather(*(count_tickets(tickets, [f, scope], cap) for f in filters.values()))
    return dict(zip(filters, found, strict=True))
