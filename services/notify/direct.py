"""Deliveries inserted already leased to this process's workers, when they have room, so that they go at once.

A delivery used to be inserted pending, then claimed (a read of its ticket's undone deliveries, a conditional
update, a read of what was leased) and then sent. When a channel's workers have room, the insert itself can carry
the lease: the same read of the ticket's undone deliveries decides which new ones are first in line (``ordering.py``,
the batch's own deliveries counted as undone), those are inserted as ``sending`` with a lease and a claim token and
handed to the workers straight from memory. What a crash leaves is what a crash after a claim leaves: a lease that
runs out, after which the delivery is pending again and sent once. The rest are inserted pending, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from .ordering import first_in_line


class Workers(Protocol):
    """The dispatcher's side (``dispatcher.Dispatcher``)."""

    @property
    def lease_seconds(self) -> float: ...

    def reserve(self, channel: str, n: int) -> int:
        """Up to ``n`` places in the channel's queue, held until ``hand`` (0: no room, insert them pending)."""
        ...

    def hand(self, channel: str, docs: list[dict[str, Any]], reserved: int) -> None:
        """The leased deliveries that were new, into the queue; the places reserved are given back."""
        ...


def due_now(d: Mapping[str, Any]) -> bool:
    """Pending and due at once: neither held for an event nor deferred to the end of quiet hours."""
    return d.get("status") == "pending" and d["next_attempt_at"] <= d["created_at"]


def wanted(docs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many places per channel the due deliveries could use."""
    out: dict[str, int] = {}
    for d in docs:
        if due_now(d):
            out[d["channel"]] = out.get(d["channel"], 0) + 1
    return out


def lease_first_in_line(docs: list[dict[str, Any]], undone: Iterable[Mapping[str, Any]], room: dict[str, int],
                        lease: float, token: str) -> list[int]:
    """Mark as leased (in place) the due deliveries no earlier undone one to the same person about the same ticket
    holds back, up to the room per channel; their positions."""
    due = [d for d in docs if due_now(d) and room.get(d["channel"])]
    free = set(first_in_line(due, [*undone, *(d for d in docs if d.get("seq") is not None)]))
    left, leased = dict(room), []
    for i, d in enumerate(docs):
        if d["_id"] in free and due_now(d) and left.get(d["channel"], 0) > 0:
            left[d["channel"]] -= 1
            now: datetime = d["created_at"]
            d.update(status="sending", lease_until=now + timedelta(seconds=lease), claim=token, attempts=1)
            leased.append(i)
    return leased
