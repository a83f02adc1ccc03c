"""Work queues as MongoDB filters over the ledger's ticket fields, and keyset (cursor) pagination.

Pure: the time window and "me" are arguments, so each queue's definition is testable
without a database. Keyset pagination (sort value, then ``_id``) stays fast and stable
on large collections, unlike skip/offset; the signed cursor that carries the position is in :mod:`.cursors`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.contracts.schemas.common import ACTIVE_STATUSES, WORKING_STATUSES, TicketStatus

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
NO_EARLIER = datetime(1970, 1, 1, tzinfo=UTC)  # before any ticket's deadline
WORKING = sorted(s.value for s in WORKING_STATUSES)


class Queue(StrEnum):
    offers = "offers"  # unclaimed offers for me
    mine = "mine"  # assigned to me and not finished
    needs_reply = "needs_reply"  # the client wrote last
    time_limit = "time_limit"  # the client's deadline falls within the window
    overdue = "overdue"  # SLA breached or deadline passed
    at_risk = "at_risk"  # an SLA target warned, not yet met or breached (the SLA service sets the flag)
    long_ignored = "long_ignored"
    lost = "lost"  # assignee unavailable while the client waits (routing sets the flag)
    unidentified = "unidentified"  # sender not matched to a client
    development = "development"  # development sub-tickets


class SortField(StrEnum):
    created_at = "created_at"
    updated_at = "updated_at"
    number = "number"
    status_changed_at = "status_changed_at"
    deadline = "deadline"
    last_client_message_at = "last_client_message_at"


# Fields that may be null are sortable only in queues where the filter guarantees a value:
# keyset pagination over nulls would need a second ordering rule.
NULLABLE_SORTS = {SortField.deadline: {Queue.time_limit}, SortField.last_client_message_at: {Queue.needs_reply}}

DEFAULT_SORT: dict[Queue, tuple[SortField, int]] = {
    Queue.offers: (SortField.updated_at, 1),
    Queue.mine: (SortField.updated_at, -1),
    Queue.needs_reply: (SortField.last_client_message_at, 1),
    Queue.time_limit: (SortField.deadline, 1),
    Queue.overdue: (SortField.created_at, 1),
    Queue.at_risk: (SortField.created_at, 1),
    Queue.long_ignored: (SortField.created_at, 1),
    Queue.lost: (SortField.created_at, 1),
    Queue.unidentified: (SortField.created_at, 1),
    Queue.development: (SortField.created_at, -1),
}


class CursorError(ValueError):
    """A bad sort or cursor (a 400 problem); cursors themselves are in :mod:`.cursors`."""


def queue_filter(queue: Queue, me: str, now: datetime, window: timedelta) -> dict[str, Any]:
    """The most selective field comes first: simple planners pick their index from the first indexed field.

    ``$in``/``$or`` here are split into one equality query per value by :mod:`.plan` before they reach the
    database (the indexes for each queue's branches are in ``store.TICKET_INDEXES``).
    """
    active = {"status": {"$in": ACTIVE}}
    match queue:
        case Queue.offers:
            return {"offered_to": me, "status": TicketStatus.offered.value}
        case Queue.mine:
            return {"assignee_id": me, "status": {"$in": WORKING}}
        case Queue.needs_reply:
            return {"last_message_from": "client", **active}
        case Queue.time_limit:
            return {"deadline": {"$gte": now, "$lte": now + window}, **active}
        case Queue.overdue:
            # the lower bound only keeps the index range off the (many) null deadlines; every deadline is after it
            return {"$or": [{"flags.sla_breached": True}, {"deadline": {"$gte": NO_EARLIER, "$lt": now}}], **active}
        case Queue.at_risk:
            return {"flags.sla_at_risk": True, **active}
        case Queue.long_ignored:
            return {"flags.long_ignored": True, **active}
        case Queue.lost:
            return {"flags.lost": True, **active}
        case Queue.unidentified:
            return {"unidentified": True, **active}
        case Queue.development:
            # parent_id is a ticket id or null: ``$gte ""`` (every string) is ``$ne null`` as an index range
            return {"$or": [{"parent_id": {"$gte": ""}}, {"line": "development"}], **active}
    raise ValueError(queue)  # pragma: no cover


def check_sort(queue: Queue | None, field: SortField) -> None:
    allowed = NULLABLE_SORTS.get(field)
    if allowed is not None and queue not in allowed:
        names = ", ".join(sorted(q.value for q in allowed))
        raise CursorError(f"sorting by {field.value} is only available in the {names} queue")


def after_cursor(field: SortField, direction: int, value: Any, last_id: str) -> dict[str, Any]:
    op = "$gt" if direction > 0 else "$lt"
    return {"$or": [{field.value: {op: value}}, {field.value: value, "_id": {op: last_id}}]}


def sort_spec(field: SortField, direction: int) -> list[tuple[str, int]]:
    return [(field.value, direction), ("_id", direction)]
