"""The queue keys the gateway stores on its ticket copies, so the embedded database can bound a queue's page.

The embedded database reads every candidate of a query before it sorts and cuts (docs/embedded-database.md), so
"active tickets where the client wrote last, oldest first" read every such ticket per page. Each copy therefore
carries ``queue_keys``: one string per queue-shaped group it belongs to, ``<spec><values>|<sort token>``, e.g.
"the tickets of status new whose client wrote last, in team T, at this last client message". One index on that
array turns a branch of a queue (its equalities) plus a window of its sort key into a single index range
(windows.py). A spec stands for an emulated compound index over the active tickets: equalities on ``fields``
(each limited to the values in ``allowed``), an optional ``present`` field that a range of the branch keeps off
null, then ``sort``. The status is not in the key: a queue holds active tickets of every active status, so one
window serves them all and the branch's status condition stays in the query.
The keys are computed from the copy itself, where it is written (views.py): pure, one place.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.schemas.common import ACTIVE_STATUSES

KEYS_FIELD = "queue_keys"
# Bump when KEY_SPECS or the encoding change: catch-up recomputes copies written with another shape.
SHAPE_FIELD = "queue_keys_shape"
SHAPE_VERSION = 4
ANY = None  # an allowed-values entry: any string (the scope's ids)
ACTIVE = frozenset(s.value for s in ACTIVE_STATUSES)
TOP = "~"  # above every token (tokens are digits, or "" for null)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OFFSET_MS = 10**14  # keeps tokens of dates before 1970 positive and of one width
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class KeySpec:
    name: str
    allowed: tuple[tuple[str, frozenset[Any] | None], ...]  # field → allowed values (ANY: any non-null)
    sort: str
    present: str | None = None

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(f for f, _ in self.allowed)


def _queue_shapes() -> list[tuple[str, dict[str, frozenset[Any] | None], str, str | None]]:
    true = frozenset({True})
    shapes: list[tuple[str, dict[str, frozenset[Any] | None], str, str | None]] = [
        ("of", {"offered_to": ANY}, "updated_at", None),  # offers: one key per agent offered (an array field)
        ("mn", {"assignee_id": ANY}, "updated_at", None),  # mine: every working status in one window
        ("nr", {"last_message_from": frozenset({"client"})}, "last_client_message_at", None),  # needs_reply
        ("tl", {}, "deadline", "deadline"),  # time_limit
        ("od", {}, "created_at", "deadline"),  # overdue by deadline
        ("dv", {"line": frozenset({"development"})}, "created_at", None),  # development line
        ("sub", {}, "created_at", "parent_id"),  # development sub-tickets
    ]
    for i, flag in enumerate(("flags.sla_breached", "flags.sla_at_risk", "flags.long_ignored", "flags.lost",
                              "unidentified")):
        shapes.append((f"f{i}", {flag: true}, "created_at", None))
    return shapes


# The scope's equalities a queue branch may carry (access/scope.py): none (administrators), a service team, a
# line or group for tickets without a team, or the assignee (a specialist's own tickets, a lead's agents'): an
# agent holds hundreds of active tickets on a big desk, which his index reads whole for every queue page.
# ``USER`` is no stored field: a key for the assignee and one for each participant, so a person's own tickets in a
# staff scope (his as assignee or as participant, two branches of the scope) are one window (plan.py).
USER = "@user"
_SCOPE_SHAPES: list[tuple[str, dict[str, frozenset[Any] | None]]] = [
    ("", {}), ("t", {"service_team_id": ANY}),
    ("l", {"line": ANY, "service_team_id": frozenset({None})}),
    ("g", {"group_id": ANY, "service_team_id": frozenset({None})}),
    ("a", {"assignee_id": ANY}),
    ("u", {USER: ANY}),
]

# A queue of one person's tickets needs no scope of its own: the person's field bounds it, and his scope holds it.
_UNSCOPED = {"mn"}

KEY_SPECS: list[KeySpec] = [
    KeySpec(f"{q}{s}", tuple(sorted({**scope, **queue}.items())), sort, present)
    for q, queue, sort, present in _queue_shapes() for s, scope in _SCOPE_SHAPES
    if not set(queue) & set(scope) and (q not in _UNSCOPED or not s)
]


def token(value: Any) -> str:
    """The sort value as a string that orders like it: milliseconds (BSON's precision), "" for null (first)."""
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        ms = (at - _EPOCH) // _MS
        return f"{ms + _OFFSET_MS:015d}"
    return ""  # null; the queues' sort fields hold datetimes (shared.contracts.ticket)


def _value(doc: Mapping[str, Any], field: str) -> Any:
    for part in field.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)  # type: ignore[assignment]
    return doc


def _admits(allowed: frozenset[Any] | None, value: Any) -> bool:
    if allowed is None:
        return isinstance(value, str)
    return any(value == a and type(value) is type(a) for a in allowed)


def prefix(spec: KeySpec, values: Mapping[str, Any]) -> str:
    """The key's part before the sort token; JSON keeps it unambiguous (no value can close it early)."""
    return spec.name + json.dumps([values[f] for f, _ in spec.allowed], separators=(",", ":")) + "|"


def users(doc: Mapping[str, Any]) -> list[str]:
    """The people whose own ticket this is: its assignee and its participants (``USER``)."""
    parts = doc.get("participants") or []
    people = [doc.get("assignee_id"), *(p.get("user_id") for p in parts if isinstance(p, Mapping))]
    return [u for u in dict.fromkeys(people) if isinstance(u, str)]


def _choices(doc: Mapping[str, Any], field: str) -> list[tuple[str, Any]]:
    """The field's value, or each of its elements when it holds an array (an equality matches any of them)."""
    if field == USER:
        return [(USER, u) for u in users(doc)]
    value = _value(doc, field)
    return [(field, v) for v in dict.fromkeys(value)] if isinstance(value, list) else [(field, value)]


def _keys(doc: Mapping[str, Any]) -> Iterator[str]:
    if doc.get("status") not in ACTIVE:
        return
    for spec in KEY_SPECS:
        if spec.present is not None and _value(doc, spec.present) is None:
            continue
        sort = token(_value(doc, spec.sort))
        for combo in itertools.product(*(_choices(doc, f) for f, _ in spec.allowed)):
            values = dict(combo)
            if all(_admits(allowed, values[f]) for f, allowed in spec.allowed):
                yield prefix(spec, values) + sort


def queue_keys(doc: Mapping[str, Any]) -> list[str]:
    """Every queue key of this ticket copy (none once it is no longer active)."""
    return sorted(set(_keys(doc)))


def shaped(doc: dict[str, Any]) -> dict[str, Any]:
    """The copy as stored: the ticket's fields, its queue keys and the shape they were computed with."""
    return {**doc, KEYS_FIELD: queue_keys(doc), SHAPE_FIELD: SHAPE_VERSION}


SPECS_BY_NAME = {spec.name: spec for spec in KEY_SPECS}


def hint_key(spec: KeySpec, prefix: str) -> str:
    """What the windows' sketch is kept under: the prefix, and the field a branch's other range is on."""
    return prefix + spec.present if spec.present not in (None, spec.sort) else prefix


def split_key(key: str) -> tuple[KeySpec, str, str] | None:
    """A stored key as (spec, prefix, sort token); None for a key of another shape."""
    prefix, bar, tok = key.rpartition("|")
    spec = SPECS_BY_NAME.get(key.split("[", 1)[0])
    return (spec, prefix + bar, tok) if spec is not None and bar else None


def _only_active(status: Any) -> bool:
    if isinstance(status, dict) and set(status) == {"$in"}:
        return bool(status["$in"]) and all(isinstance(s, str) and s in ACTIVE for s in status["$in"])
    return isinstance(status, str) and status in ACTIVE


def spec_for(eqs: Mapping[str, Any], range_field: str | None, sort: str) -> tuple[KeySpec, str] | None:
    """The spec whose equalities are exactly the branch's (each value allowed), with its key prefix; or None.

    ``eqs`` must hold a status among the active ones (an equality or an ``$in``); ``range_field``: the field of
    the branch's one range (its sort key's, or the spec's ``present`` one).
    """
    if not _only_active(eqs.get("status")):
        return None
    eqs = {f: v for f, v in eqs.items() if f != "status"}
    for spec in KEY_SPECS:
        if spec.sort != sort or spec.fields != set(eqs):
            continue
        if range_field is not None and range_field not in (spec.present, spec.sort):
            continue
        if not all(_admits(allowed, eqs[f]) for f, allowed in spec.allowed):
            continue
        if spec.present is not None and range_field != spec.present:
            continue
        return spec, prefix(spec, eqs)
    return None
