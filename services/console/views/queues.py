"""The workspace's view logic: the gateway's ten work queues, their counts and one table row per ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The gateway's queues (GET /api/v1/queues/{queue}), in the order the navigation shows them.
QUEUES: tuple[str, ...] = ("offers", "mine", "needs_reply", "time_limit", "overdue", "at_risk", "long_ignored",
                           "lost", "unidentified", "development")


@dataclass(frozen=True)
class Row:
    id: str
    number: int | None
    subject: str
    client: str
    status: str
    line: str
    assignee: str
    deadline: str | None  # ISO 8601, for <time data-countdown>
    claimable: bool


def _client(doc: dict[str, Any]) -> str:
    client = doc.get("client") or {}
    sender = doc.get("sender") or {}
    return str(client.get("client_name") or client.get("client_id") or sender.get("name") or sender.get("email")
               or sender.get("phone") or "")


def row(doc: dict[str, Any], queue: str, user_id: str) -> Row:
    """One ticket of a queue page; a Claim button only on an offer made to this user and still unclaimed."""
    claimable = (queue == "offers" and not doc.get("assignee_id")
                 and user_id in (doc.get("offered_to") or [user_id]))
    return Row(id=str(doc["id"]), number=doc.get("number"), subject=str(doc.get("subject") or ""),
               client=_client(doc), status=str(doc.get("status") or ""), line=str(doc.get("line") or ""),
               assignee=str(doc.get("assignee_id") or ""), deadline=doc.get("deadline"), claimable=claimable)


def rows(page: dict[str, Any], queue: str, user_id: str) -> list[Row]:
    return [row(doc, queue, user_id) for doc in page.get("items", []) if isinstance(doc, dict) and "id" in doc]


def counts(body: Any) -> dict[str, int]:
    """``GET /api/v1/queues``'s counts per queue (only our queues, only whole numbers); anything else: none."""
    if not isinstance(body, dict):
        return {}
    raw = body.get("counts", body)
    if not isinstance(raw, dict):
        return {}
    return {q: n for q in QUEUES if isinstance(n := raw.get(q), int) and not isinstance(n, bool) and n >= 0}


def capped(body: Any) -> frozenset[str]:
    """The queues ``GET /api/v1/queues`` says hold more than its cap: their badge reads "99+", not 99."""
    listed = body.get("capped") if isinstance(body, dict) else None
    return frozenset(q for q in QUEUES if isinstance(listed, list) and q in listed)
