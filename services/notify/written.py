"""What this process queued itself: claims take those deliveries by id instead of looking for every pending one.

SecantusDB reads every document an index walk matches, so finding due deliveries by their status reads the whole
queue, each claim again (60 ms of database CPU per claim at 1,000 pending). The deliveries this process just
wrote are known without asking: a claim reads only their tickets' undone deliveries (to keep one person's notices
in order) and leases them by id with the same conditional update as any claim, so what a crash leaves and how
replicas keep apart do not change. The queue is still searched whenever this list has nothing to claim, and at
least every ``SEARCH_EVERY_SECONDS``, so deliveries written by another replica, retried or released are found.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.runtime.clock import as_utc

SEARCH_EVERY_SECONDS = 2.0
MAX_KNOWN = 20_000  # beyond this the oldest are forgotten: the search finds them


class Written:
    """Pending deliveries this process inserted, per channel, oldest first."""

    def __init__(self, limit: int = MAX_KNOWN) -> None:
        self.limit = limit
        self._rows: dict[str, OrderedDict[str, dict[str, Any]]] = {}

    def add(self, docs: Iterable[Mapping[str, Any]]) -> None:
        for d in docs:
            if d.get("status") != "pending" or d["next_attempt_at"] > d["created_at"]:
                continue  # held or deferred: they join the queue later and are found by a search
            rows = self._rows.setdefault(d["channel"], OrderedDict())
            rows[d["_id"]] = dict(d)  # whole: a claim of it needs no read back (store.NotifyStore._claim)
            if len(rows) > self.limit:
                rows.popitem(last=False)

    def due(self, channel: str, now: datetime, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` of the channel's known deliveries that are due, oldest first."""
        out: list[dict[str, Any]] = []
        for row in self._rows.get(channel, {}).values():
            if as_utc(row["next_attempt_at"]) <= now:
                out.append(row)
                if len(out) >= n:
                    break
        return out

    def forget(self, channel: str, ids: Iterable[str]) -> None:
        """Claimed (by us or by another replica): no longer pending."""
        rows = self._rows.get(channel)
        if rows:
            for i in ids:
                rows.pop(i, None)

    def known(self, channel: str) -> int:
        return len(self._rows.get(channel, ()))
