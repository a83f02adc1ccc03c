"""Which deliveries still hold back a ticket's later notices, as this process knows them: read once, then kept.

Leasing a delivery, at its insert (``direct.py``) or by a claim, needs the undone deliveries of its ticket, to keep
one person's notices in order (``ordering.py``). This process writes most of them itself, so after one read of a
ticket's undone deliveries it keeps the list up to date with its own inserts and marks, and reads again only after
``CHECK_SECONDS`` or a change it cannot follow (a held notice released, a failed one queued again). What another
replica wrote since the read is seen at the next read; until then the two may go out together, which a claim by two
replicas at once (read, then lease) could always do. A delivery finished elsewhere stays listed until that read: it
holds a later notice back until that read at most, never lets one go early.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from .ordering import UNDONE

# Long enough to cover a ticket's whole stay on the desk in most cases (each read was one command per event), short
# enough that another replica's notices to the same person are seen in order soon after.
CHECK_SECONDS = 30.0
MAX_TICKETS = 20_000


class Lines:
    def __init__(self, check_seconds: float = CHECK_SECONDS, size: int = MAX_TICKETS) -> None:
        self.check_seconds, self.size = check_seconds, size
        self._tickets: OrderedDict[str, tuple[float, dict[str, dict[str, Any]]]] = OrderedDict()
        self._ticket_of: dict[str, str] = {}
        # finished lately by this process: a read that was on its way meanwhile must not list them again
        self._finished: OrderedDict[str, None] = OrderedDict()

    def unchecked(self, ticket_ids: Iterable[str]) -> set[str]:
        """Those to read: never read, or read longer ago than ``check_seconds``."""
        now = time.monotonic()
        return {t for t in ticket_ids if t not in self._tickets or now - self._tickets[t][0] >= self.check_seconds}

    def checked(self, ticket_ids: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> None:
        """What a read found undone for these tickets (rows with ``_id``, ``ticket_id``, ``recipient``, ``seq``)."""
        now = time.monotonic()
        found: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in ticket_ids}
        for r in rows:
            if r["_id"] not in self._finished:
                found.setdefault(r["ticket_id"], {})[r["_id"]] = dict(r)
        for tid, undone in found.items():
            self.forget(tid)
            self._tickets[tid] = (now, undone)
            self._ticket_of.update(dict.fromkeys(undone, tid))
        while len(self._tickets) > self.size:
            self.forget(next(iter(self._tickets)))

    def undone(self, ticket_ids: Iterable[str]) -> list[dict[str, Any]]:
        return [row for t in ticket_ids if t in self._tickets for row in self._tickets[t][1].values()]

    def added(self, docs: Iterable[Mapping[str, Any]]) -> None:
        """This process inserted them: the undone ones with a place in line join their ticket's list."""
        for d in docs:
            kept = self._tickets.get(d["ticket_id"])
            if kept is not None and d.get("seq") is not None and d.get("status") in UNDONE:
                kept[1][d["_id"]] = {k: d[k] for k in ("_id", "ticket_id", "recipient", "seq")}
                self._ticket_of[d["_id"]] = d["ticket_id"]

    def finished(self, ids: Iterable[str]) -> None:
        for i in ids:
            self._finished[i] = None
            if len(self._finished) > self.size:
                self._finished.popitem(last=False)
            tid = self._ticket_of.pop(i, None)
            if tid is not None and tid in self._tickets:
                self._tickets[tid][1].pop(i, None)

    def forget(self, ticket_id: str | None = None) -> None:
        """A change this process cannot follow: read again (every ticket when none is named)."""
        if ticket_id is None:  # e.g. a failed one queued again: undone once more
            self._tickets.clear()
            self._ticket_of.clear()
            self._finished.clear()
            return
        kept = self._tickets.pop(ticket_id, None)
        for i in kept[1] if kept else ():
            self._ticket_of.pop(i, None)
