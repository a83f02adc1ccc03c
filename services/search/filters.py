"""Filters as engine-neutral terms (pure): the caller's scope and the request's filters.

The scope arrives as the gateway's MongoDB ticket filter, so who sees which ticket is decided in one place (the
gateway's scope rule). Only the shapes that rule builds are understood — equality, ``$in``, ``$or``, ``$and`` on the
scope fields — and anything else is refused, never guessed: an unknown shape could widen what a caller sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts.search_api import SearchFilters

from .domain import NONE

# MongoDB field of the ticket → the indexed field holding it
SCOPE_FIELDS = {"_id": "ticket_id", "client.client_id": "client_id", "client.contact_id": "contact_id",
                "assignee_id": "assignee_id",
                "participants.user_id": "participants", "service_team_id": "service_team_id", "line": "line",
                "group_id": "group_id"}
MAX_DEPTH = 6
MAX_VALUES = 10_000


class ScopeError(ValueError):
    """A scope filter this service does not understand."""


@dataclass(frozen=True)
class Term:
    field: str
    values: tuple[str, ...]  # any of them


@dataclass(frozen=True)
class Range:
    field: str
    lower: datetime | None
    upper: datetime | None


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Filter, ...]  # empty: everything


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]  # empty: nothing


Filter = Term | Range | AllOf | AnyOf
EVERYTHING = AllOf(())
NOTHING = AnyOf(())


def _value(v: Any) -> str:
    if v is None:
        return NONE
    if isinstance(v, str):
        return v
    raise ScopeError(f"scope values are strings or null, not {type(v).__name__}")


def _field(name: str, cond: Any, budget: list[int], fields: dict[str, str]) -> Filter:
    if name not in fields:
        raise ScopeError(f"unknown scope field {name!r}")
    if isinstance(cond, dict):
        if set(cond) != {"$in"} or not isinstance(cond["$in"], list):
            raise ScopeError(f"only equality and $in on {name}")
        values = cond["$in"]
    else:
        values = [cond]
    budget[0] -= len(values)
    if budget[0] < 0:
        raise ScopeError("scope names too many values")
    return Term(fields[name], tuple(_value(v) for v in values))


def _translate(node: Any, depth: int, budget: list[int], fields: dict[str, str]) -> Filter:
    if depth > MAX_DEPTH:
        raise ScopeError("scope nested too deep")
    if not isinstance(node, dict):
        raise ScopeError("a scope clause is an object")
    parts: list[Filter] = []
    for key, value in node.items():
        if key in ("$or", "$and"):
            if not isinstance(value, list) or not value:
                raise ScopeError(f"{key} takes a non-empty list")
            subs = tuple(_translate(v, depth + 1, budget, fields) for v in value)
            parts.append(AnyOf(subs) if key == "$or" else AllOf(subs))
        elif key.startswith("$"):
            raise ScopeError(f"operator {key} is not a scope operator")
        else:
            parts.append(_field(key, value, budget, fields))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def scope_filter(mongo: dict[str, Any], fields: dict[str, str] = SCOPE_FIELDS) -> Filter:
    """The gateway's ticket scope (``{}`` = everything) as a filter; :class:`ScopeError` on any other shape.
    ``fields``: the MongoDB fields understood and the indexed field each names (the article index passes its own)."""
    return _translate(mongo, 0, [MAX_VALUES], fields) if mongo else EVERYTHING


def request_filter(f: SearchFilters) -> Filter:
    parts: list[Filter] = []
    if f.status:
        parts.append(Term("status", tuple(s.value for s in f.status)))
    for field in ("line", "service_team_id", "assignee_id", "client_id"):
        if (value := getattr(f, field)) is not None:
            parts.append(Term(field, (value,)))
    if f.tag is not None:
        parts.append(Term("tags", (f.tag,)))
    if f.created_from or f.created_to:
        parts.append(Range("created_at", f.created_from, f.created_to))
    if f.updated_from or f.updated_to:
        parts.append(Range("updated_at", f.updated_from, f.updated_to))
    return AllOf(tuple(parts))
