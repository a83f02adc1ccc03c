"""One page of a ticket query as several index-bounded queries, merged in Python.

The embedded database uses an index only for plain equalities plus at most one range
(docs/embedded-database.md). The queues' filters, the role scope and the keyset cursor are
``$or``/``$in`` trees, so :func:`branches` rewrites the conjunction into its disjunctive normal form: one
branch per combination of values, each a set of equalities and at most one range. Each branch is asked
for, sorted by the page's sort key and bounded by the cursor, at most ``limit + 1`` documents; the sorted
streams are merged, deduplicated by ``_id`` and cut to the page. The result, its order and the cursor are
those of the single query (MongoDB's order: the sort key, then ``_id``), and MongoDB serves the same
branches from the same indexes.

A filter this module does not understand is run as the one query it was (:class:`Unsupported`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from .keys import USER, hint_key, spec_for, token, users
from .windows import Sketch, bounds, succ, walk

RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
# Fields that never hold arrays: two different equalities on one of them cannot both hold.
SCALAR_FIELDS = frozenset({"_id", "status", "line", "group_id", "service_team_id", "assignee_id", "client.client_id",
                           "channel", "parent_id", "last_message_from", "unidentified", "flags.sla_breached",
                           "flags.long_ignored", "flags.lost", "flags.sla_at_risk", "number"})
# A person's own fields: the embedded database bounds a query by the first field it has an index for, and these
# hold a few tickets where a team's or a line's (the scope's) hold every ticket it ever had.
PERSONAL_FIELDS = ("assignee_id", "offered_to", "participants.user_id")
MAX_BRANCHES = 512
CONCURRENCY = 8

Cond = tuple[str, Any]  # ("eq", value) | ("range", {op: value})
Branch = dict[str, list[Cond]]


class Find(Protocol):
    """The tickets matching ``query`` in ``sort`` order (``limit`` None: all), with ``projection``'s fields if given."""

    def __call__(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int | None,
                 projection: dict[str, int] | None = None) -> Awaitable[list[dict[str, Any]]]: ...


class Unsupported(Exception):
    """The filter has a shape the splitter does not handle; run it as it is."""


def _is_plain(value: Any) -> bool:
    return not (isinstance(value, dict) and any(str(k).startswith("$") for k in value))


def _alternatives(field: str, value: Any, split_in: bool) -> list[Branch]:
    if _is_plain(value):
        return [{field: [("eq", value)]}]
    ops = set(value)
    if ops == {"$in"}:
        values = value["$in"]
        if not isinstance(values, list) or not all(_is_plain(v) and not isinstance(v, list) for v in values):
            raise Unsupported(field)
        unique = list(dict.fromkeys(_hashable(v) for v in values))
        if not split_in and unique:
            return [{field: [("in", tuple(unique))]}]
        return [{field: [("eq", v)]} for v in unique]
    if ops == {"$eq"} and _is_plain(value["$eq"]):
        return [{field: [("eq", value["$eq"])]}]
    if ops <= RANGE_OPS and all(_is_plain(v) and v is not None for v in value.values()):
        return [{field: [("range", dict(value))]}]
    raise Unsupported(field)


def _hashable(v: Any) -> Any:
    if isinstance(v, dict):
        raise Unsupported("document value in $in")
    return v


def _conjoin(a: Branch, b: Branch) -> Branch:
    out = {k: list(v) for k, v in a.items()}
    for field, conds in b.items():
        mine = out.setdefault(field, [])
        for c in conds:
            if c not in mine:
                mine.append(c)
    return out


def branches(query: dict[str, Any], split_in: bool = True) -> list[Branch]:
    """Disjunctive normal form of ``query``: a list of conjunctions, each field → its conditions.

    ``split_in=False`` keeps each ``$in`` as one condition (``("in", values)``); :func:`split_ins` splits later.
    """
    result: list[Branch] = [{}]
    for key, value in query.items():
        if key == "$or":
            if not isinstance(value, list):
                raise Unsupported(key)
            alts = [b for sub in value for b in branches(sub, split_in)]
        elif key == "$and":
            if not isinstance(value, list):
                raise Unsupported(key)
            alts = [{}]
            for sub in value:
                alts = [_conjoin(x, y) for x in alts for y in branches(sub, split_in)]
                _check_size(alts)
        elif key.startswith("$"):
            raise Unsupported(key)
        else:
            alts = _alternatives(key, value, split_in)
        result = [_conjoin(x, y) for x in result for y in alts]
        _check_size(result)
    return [b for b in result if _satisfiable(b)]


def split_ins(b: Branch) -> list[Branch]:
    """``b`` with each ``("in", values)`` condition split into one branch per value."""
    out: list[Branch] = [{}]
    for field, conds in b.items():
        alts = [{field: [c]} if c[0] != "in" else None for c in conds]
        for c, alt in zip(conds, alts, strict=True):
            if alt is not None:
                out = [_conjoin(x, alt) for x in out]
            else:
                out = [_conjoin(x, {field: [("eq", v)]}) for x in out for v in c[1]]
        _check_size(out)
    return [x for x in out if _satisfiable(x)]


def _check_size(bs: list[Any]) -> None:
    if len(bs) > MAX_BRANCHES:
        raise Unsupported("too many branches")


def _satisfiable(b: Branch) -> bool:
    for field, conds in b.items():
        eqs = [v for kind, v in conds if kind == "eq"]
        if field in SCALAR_FIELDS:
            if len({repr(v) for v in eqs}) > 1:
                return False
            if eqs and any(kind == "in" and eqs[0] not in v for kind, v in conds):
                return False
    return True


def _implies(q: Branch, s: Branch) -> bool:
    """Every condition of ``s`` is one of ``q``'s: ``q`` alone selects no more than ``q`` and ``s``."""
    return all(c in q.get(f, []) for f, conds in s.items() for c in conds)


def plan_branches(base: list[dict[str, Any]], scope: dict[str, Any]) -> list[Branch]:
    """The branches to ask the database for: the conjunction of ``base`` (queue, filters) and the role ``scope``.

    A base branch inside the scope (one of the scope's branches is among its conditions: my offers, my
    tickets) is split on its ``$in`` values and runs on the queue's own compound index. Otherwise it is
    asked once per scope branch, the scope's equalities first (a team's or a line's tickets; the embedded
    database bounds the query by the first field it has an index for) unless the queue names a person
    (``PERSONAL_FIELDS``: my offers lead), and its ``$in`` kept whole.
    """
    out: list[Branch] = []
    for b, inside in _plan(base, scope):
        out.extend(split_ins(b) if inside else [b])
        _check_size(out)
    return _unique(out)


def _plan(base: list[dict[str, Any]], scope: dict[str, Any]) -> list[tuple[Branch, bool]]:
    """:func:`plan_branches` before the ``$in`` of the branches inside the scope are split (flagged True)."""
    result: list[Branch] = [{}]
    for part in base:
        if part:
            result = [_conjoin(x, y) for x in result for y in branches(part, split_in=False)]
            _check_size(result)
    result = [b for b in result if _satisfiable(b)]
    alts = branches(scope) if scope else None
    out: list[tuple[Branch, bool]] = []
    for q in result:
        if alts is None or any(_implies(q, s) for s in alts):
            out.append((q, True))
        else:
            out.extend((b, False) for s in alts if _satisfiable(b := _conjoin(s, q)))
        _check_size(out)
    return out


def _unique(bs: list[Branch]) -> list[Branch]:
    unique: dict[str, Branch] = {}
    for b in bs:
        unique.setdefault(repr(sorted((f, sorted(map(repr, c))) for f, c in b.items())), b)
    return list(unique.values())


def _person_pairs(planned: list[tuple[Branch, bool]]) -> list[tuple[Branch, bool, list[Branch]]]:
    """``planned`` with each pair of scope branches "his as assignee" and "his as participant" of one query joined
    into one ``USER`` branch (keys.py), carrying the two it stands for (a branch alone carries itself)."""
    partner_of: dict[int, int] = {}
    for i, (b, inside) in enumerate(planned):
        person = _only_eq(b, "participants.user_id")
        rest = {f: c for f, c in b.items() if f != "participants.user_id"}
        if inside or person is None or "assignee_id" in rest:
            continue
        partner = next((j for j, (o, o_inside) in enumerate(planned) if j not in partner_of and not o_inside
                        and _only_eq(o, "assignee_id") == person
                        and {f: c for f, c in o.items() if f != "assignee_id"} == rest), None)
        if partner is not None and i not in partner_of:
            partner_of[i], partner_of[partner] = partner, i
    out: list[tuple[Branch, bool, list[Branch]]] = []
    for i, (b, inside) in enumerate(planned):
        if i not in partner_of:
            out.append((b, inside, [b]))
        elif _only_eq(b, "participants.user_id") is not None:
            rest = {f: c for f, c in b.items() if f != "participants.user_id"}
            person = _only_eq(b, "participants.user_id")
            out.append(({USER: [("eq", person)], **rest}, False, [b, planned[partner_of[i]][0]]))
    return out


def _only_eq(b: Branch, field: str) -> Any:
    conds = b.get(field, [])
    return conds[0][1] if len(conds) == 1 and conds[0][0] == "eq" and isinstance(conds[0][1], str) else None


# --- one branch → database queries -------------------------------------------------------------------------

def _values(doc: Any, path: list[str]) -> list[Any]:
    if not path:
        return [doc]
    if isinstance(doc, list):
        return [v for item in doc for v in _values(item, path)]
    if not isinstance(doc, dict) or path[0] not in doc:
        return []
    value = doc[path[0]]
    out = _values(value, path[1:])
    if not path[1:] and isinstance(value, list):
        out = [value, *value]
    return out


def _eq_holds(doc: dict[str, Any], field: str, value: Any) -> bool:
    vals = _values(doc, field.split("."))
    if value is None:
        return not vals or None in vals
    return value in vals


def _key(doc: dict[str, Any], field: str) -> tuple[Any, ...]:
    v = doc.get(field)
    return (0,) if v is None else (1, v)


def _after(value: Any, last_id: str, direction: int) -> Callable[[dict[str, Any], str], bool]:
    def test(doc: dict[str, Any], field: str) -> bool:
        v = doc.get(field)
        if v is None:
            return False
        if direction > 0:
            return v > value or (v == value and doc["_id"] > last_id)
        return v < value or (v == value and doc["_id"] < last_id)
    return test


def _in_range(value: Any, ops: dict[str, Any]) -> bool:
    checks = {"$gt": lambda b: value > b, "$gte": lambda b: value >= b,
              "$lt": lambda b: value < b, "$lte": lambda b: value <= b}
    return all(checks[op](bound) for op, bound in ops.items())


def _tighten(ops: dict[str, Any], value: Any, direction: int) -> dict[str, Any]:
    """``ops`` (a range on the sort field) and the cursor's strict bound ``> value`` (or ``< value``)."""
    out = dict(ops)
    bounds = ("$gt", "$gte") if direction > 0 else ("$lt", "$lte")
    stricter = [op for op in bounds if op in out and (out[op] > value if direction > 0 else out[op] < value)]
    if stricter:
        return out
    for op in bounds:
        out.pop(op, None)
    out[bounds[0]] = value
    return out


class BranchQuery:
    """The database queries for one branch, and the Python-side checks their answers still need."""

    def __init__(self, branch: Branch, field: str, direction: int, cursor: tuple[Any, str] | None,
                 limit: int) -> None:
        self.field, self.direction, self.cursor, self.limit = field, direction, cursor, limit
        eqs: dict[str, Any] = {}  # equalities and whole $in, in the branch's order
        self.residual: list[tuple[str, Any]] = []  # further equalities on array fields
        ranges: list[tuple[str, dict[str, Any]]] = []
        for f, conds in branch.items():
            ins = [v for kind, v in conds if kind == "in"]
            plain = [v for kind, v in conds if kind == "eq"]
            if ins and (plain or len(ins) > 1):
                if f not in SCALAR_FIELDS:
                    raise Unsupported("$in with another condition on an array field")
                if not plain:  # several $in on one scalar field: their intersection
                    common = [v for v in ins[0] if all(v in other for other in ins[1:])]
                    conds = [("in", tuple(common))] if common else []
                    if not common:
                        raise Unsupported("empty $in intersection")  # _satisfiable keeps none; be safe
                else:  # the equality decides (_satisfiable dropped branches where it is outside the $in)
                    conds = [c for c in conds if c[0] != "in"]
            for kind, v in conds:
                if kind == "eq":
                    if f in eqs:
                        self.residual.append((f, v))
                    else:
                        eqs[f] = v
                elif kind == "in":
                    eqs[f] = {"$in": list(v)}
                else:
                    ranges.append((f, v))
        if len(ranges) > 1 or any(f in eqs for f, _ in ranges):
            raise Unsupported("several conditions on one field")
        self.eqs = dict(sorted(eqs.items(), key=lambda item: item[0] not in PERSONAL_FIELDS))  # stable
        self.range = ranges[0] if ranges else None

    def queries(self) -> list[tuple[dict[str, Any], int | None, bool]]:
        """(filter, limit or None for all, whether Python applies the cursor) for each database query."""
        field, direction, limit = self.field, self.direction, self.limit + 1
        if self.residual:
            limit_or_all: int | None = None
        else:
            limit_or_all = limit
        base = dict(self.eqs)
        if self.cursor is None:
            if self.range:
                base[self.range[0]] = self.range[1]
            return [(base, limit_or_all, False)]
        value, _last = self.cursor
        if field in self.eqs:
            # the sort key is pinned (or null): all of the branch, the cursor applied here
            if self.range:
                base[self.range[0]] = self.range[1]
            return [(base, None, True)]
        if self.range and self.range[0] != field:
            # the branch's one range is on another field: the database bounds by it, Python by the cursor
            base[self.range[0]] = self.range[1]
            return [(base, None, True)]
        own = self.range[1] if self.range else {}
        out = [({**base, field: _tighten(own, value, direction)}, limit_or_all, False)]
        if _in_range(value, own):
            # ties on the sort key past the cursor's _id: equalities only, filtered by _id here
            out.append(({**base, field: value}, None, True))
        return out

    def accept(self, doc: dict[str, Any]) -> bool:
        return all(_eq_holds(doc, f, v) for f, v in self.residual)


def _windowed(b: Branch, field: str) -> list[Branch] | None:
    """``b`` as branches that each have a queue key spec for ``field`` (keys.py), splitting its ``$in`` but the
    status's (the keys hold every active status); or None."""
    rest = {f: conds for f, conds in b.items() if f != "status"}
    try:
        parts = split_ins(rest) if any(kind == "in" for conds in rest.values() for kind, _ in conds) else [rest]
    except Unsupported:
        return None
    status = b.get("status", [])
    if len(status) != 1:
        return None
    out = []
    for part in parts:
        ranges = [f for f, conds in part.items() for kind, _ in conds if kind == "range"]
        eqs = {f: v for f, conds in part.items() for kind, v in conds if kind == "eq"}
        if len(ranges) > 1 or sum(len(c) for c in part.values()) != len(eqs) + len(ranges):
            return None
        kind, value = status[0]
        eqs["status"] = {"$in": list(value)} if kind == "in" else value
        if kind == "range" or spec_for(eqs, ranges[0] if ranges else None, field) is None:
            return None
        out.append({**part, "status": status})
    return out


async def _walk_branch(find: Find, sketch: Sketch, bq: BranchQuery, sort: list[tuple[str, int]],
                       projection: dict[str, int] | None, accept: Callable[[dict[str, Any]], bool],
                       beyond: Any = None) -> list[dict[str, Any]]:
    """One branch by windows of its queue keys (windows.py): what ``bq.queries()`` would find, fewer read.

    ``beyond``: a sort value the page cannot pass (``limit + 1`` tickets of other branches come no later), so
    the walk ends there however few it found."""
    field, direction = bq.field, bq.direction
    range_field = bq.range[0] if bq.range else None
    found = spec_for(bq.eqs, range_field, field)
    assert found is not None
    spec, prefix = found
    # the person's two scope branches as one: no stored field, so checked here (a key proves it on the embedded
    # database; on MongoDB a range on an array may hold by two different keys)
    person = bq.eqs.get(USER)
    conditions = {f: v for f, v in bq.eqs.items() if f != USER}
    if person is not None:
        cursor_ok = accept

        def accept(d: dict[str, Any]) -> bool:
            return person in users(d) and cursor_ok(d)
    low: str | None = None
    high: str | None = None
    if bq.range:
        conditions[bq.range[0]] = bq.range[1]
        if range_field == field:
            low, high = bounds(bq.range[1])
    if bq.cursor is not None:
        at = token(bq.cursor[0])
        if direction > 0:
            low = at if low is None else max(low, at)
        else:
            high = succ(at) if high is None else min(high, succ(at))
    if beyond is not None:  # ties on the sort value stay in: they are ordered by _id in the merge
        end = token(beyond)
        if direction > 0:
            high = succ(end) if high is None else min(high, succ(end))
        else:
            low = end if low is None else max(low, end)
        if low is not None and high is not None and low >= high:
            return []
    key = hint_key(spec, prefix)

    def one(query: dict[str, Any]) -> Awaitable[list[dict[str, Any]]]:
        return find(query, sort, None) if projection is None else find(query, sort, None, projection)
    return await walk(one, sketch, key, prefix, conditions, field, direction, low, high, bq.limit + 1, accept)


async def find_page(find: Find, parts: list[dict[str, Any]], field: str, direction: int,
                    cursor: tuple[Any, str] | None, limit: int,
                    fields: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` documents matching all of ``parts``, ordered by ``field`` then ``_id``, after ``cursor``.

    ``parts`` is the base filters, then the role scope last (``{}``: everything). With ``fields``, the documents
    carry only those (and what the merge needs: the sort key and the fields checked here), not the whole ticket.
    A ``find`` that carries a ``sketch`` (windows.py) reads the branches that have a queue key spec by windows.

    Raises :class:`Unsupported` (before any query) when a part cannot be split.
    """
    if cursor is not None and cursor[0] is None:
        raise Unsupported("cursor on a null sort value")
    sketch: Sketch | None = getattr(find, "sketch", None)
    by_windows_plan: list[Branch] = []
    if sketch is None:
        plan = plan_branches(parts[:-1], parts[-1])
    else:  # as plan_branches, but a branch with queue keys keeps its status $in: one walk for all of them
        plan = []
        for b, inside, originals in _person_pairs(_plan(parts[:-1], parts[-1])):
            split = _windowed(b, field)
            if split is not None:
                by_windows_plan.extend(split)
            else:
                plan.extend(x for o in originals for x in (split_ins(o) if inside else [o]))
        plan, by_windows_plan = _unique(plan), _unique(by_windows_plan)
    bqs = [BranchQuery(b, field, direction, cursor, limit) for b in plan]
    windowed = [BranchQuery(b, field, direction, cursor, limit) for b in by_windows_plan]
    sort = [(field, direction), ("_id", direction)]
    after = _after(*cursor, direction) if cursor else None
    gate = asyncio.Semaphore(CONCURRENCY)
    person = ("assignee_id", "participants.user_id") if any(USER in bq.eqs for bq in windowed) else ()
    projection = None if fields is None else row_projection(
        fields, field, *(f for bq in [*bqs, *windowed] for f, _ in bq.residual), *person)

    async def run(bq: BranchQuery, query: dict[str, Any], n: int | None, check_cursor: bool) -> list[dict[str, Any]]:
        async with gate:
            docs = await (find(query, sort, n) if projection is None else find(query, sort, n, projection))
        return [d for d in docs if bq.accept(d) and (not check_cursor or after is None or after(d, field))]

    async def by_windows(bq: BranchQuery, beyond: Any = None) -> list[dict[str, Any]]:
        assert sketch is not None
        async with gate:
            return await _walk_branch(find, sketch, bq, sort, projection,
                                      lambda d: after is None or after(d, field), beyond)

    def merged(results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for doc in itertools.chain.from_iterable(results):
            seen.setdefault(doc["_id"], doc)
        return sorted(seen.values(), key=lambda d: (_key(d, field), d["_id"]), reverse=direction < 0)[:limit + 1]

    # A branch whose range is on another field than the sort (overdue's deadline) finds its matches among many
    # it reads; it walks last, only as far as the page can still reach once the other branches are in.
    sparse = [bq for bq in windowed if bq.range is not None and bq.range[0] != field]
    jobs = [run(bq, q, n, c) for bq in bqs for q, n, c in bq.queries()]
    jobs += [by_windows(bq) for bq in windowed if bq not in sparse]
    page = merged(await asyncio.gather(*jobs))
    if not sparse:
        return page
    beyond = page[limit][field] if len(page) > limit and page[limit].get(field) is not None else None
    return merged([page, *await asyncio.gather(*(by_windows(bq, beyond) for bq in sparse))])


def row_projection(fields: Collection[str], *needed: str) -> dict[str, int]:
    """An inclusion projection of ``fields`` and the ``needed`` ones (a sort key, a field checked in Python)."""
    return {f: 1 for f in dict.fromkeys([*fields, *needed]) if f != "_id"}
