"""Notify's ticket views as this instance last wrote them, kept while it holds their ``tickets.events`` partitions.

Only the ``tickets.events`` consumer changes a view, and a ticket's events come through one partition: while this
instance holds it, what it wrote is what is stored, so the next event needs no read. A view is written only when a
field that addresses or words a notice changed; its ``position`` (and ``status``, read only by the fallback for
views folded before positions) may run ahead of the stored one. That is safe for the order of one person's notices
(``ordering.py``) because a view read from the database takes the highest ``seq`` of its ticket's deliveries as
its lowest position (``NotifyStore.read_views``), so a notice is never placed before one already queued.

Writes are guarded by the position as stored (a view another instance wrote meanwhile refuses it: forgotten, read
again on the retry). A change of the partitions held, a refused or failed write, forgets; at most ``size`` are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .projection import TicketView, to_doc
from .store import ABSENT, NotifyStore

DEFAULT_SIZE = 10_000
EAGER_FIELDS = frozenset(TicketView.model_fields) - {"position", "status"}  # a change of these is written at once


class ViewConflict(Exception):
    """A view write was refused: another writer got there first. The record is handled again on a fresh read."""


def same_stored(a: TicketView, b: TicketView) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in EAGER_FIELDS)


class ViewMemory:
    """``handlers.NotifyStorage`` over ``NotifyStore``: views kept in memory, the rest passed through."""

    def __init__(self, store: NotifyStore, size: int = DEFAULT_SIZE) -> None:
        self.store, self.size = store, size
        self._kept: OrderedDict[str, tuple[TicketView, TicketView, Any]] = OrderedDict()  # current, stored, guard
        self._read: OrderedDict[str, tuple[TicketView, Any]] = OrderedDict()  # as read: view and guard
        self._exists: set[str] = set()  # an opening found its view there: read it next time

    async def view(self, ticket_id: str, opening: bool = False) -> TicketView | None:
        """``opening``: the record is the ticket's ``TicketOpened``, so no view is taken to exist (unless a write
        already found one: a redelivery)."""
        if (kept := self._kept.get(ticket_id)) is not None:
            self._kept.move_to_end(ticket_id)
            return kept[0]
        if opening and ticket_id not in self._exists:
            self._read.pop(ticket_id, None)  # its write is an insert: refused should the view be there after all
            return None
        view, guard = (await self.store.read_views([ticket_id]))[ticket_id]
        if view is not None:
            self._read[ticket_id] = (view, guard)
            while len(self._read) > self.size:
                self._read.popitem(last=False)
        return view

    async def save_view(self, view: TicketView) -> None:
        await self.save_views([view])

    async def save_views(self, views: Sequence[TicketView]) -> None:
        """Write those whose stored fields changed (one command for all); keep every one as now folded."""
        writes: list[tuple[TicketView, Any]] = []
        for v in views:
            stored, guard = self._stored(v.ticket_id)
            if stored is not None and same_stored(stored, v):
                self._keep(v, stored, guard)
            else:
                writes.append((v, guard))
        if not writes:
            return
        try:
            refused = await self.store.write_views([(to_doc(v), guard) for v, guard in writes])
        except BaseException:  # unknown whether it landed: read these again next time
            self.forget([v.ticket_id for v, _ in writes])
            raise
        for (v, guard), no in zip(writes, refused, strict=True):
            if no:
                self.forget([v.ticket_id])
                self._exists.add(v.ticket_id)
                continue
            self._keep(v, v, v.position)
            if guard is ABSENT:  # a new ticket: no notice has a place in its line yet (``lines.py``), none to read
                self.store.lines.checked([v.ticket_id], [])
        if any(refused):
            raise ViewConflict(f"{sum(refused)} view write(s) refused: written meanwhile by another instance")

    def _stored(self, ticket_id: str) -> tuple[TicketView | None, Any]:
        if (kept := self._kept.get(ticket_id)) is not None:
            return kept[1], kept[2]
        if (read := self._read.pop(ticket_id, None)) is not None:
            return read
        return None, ABSENT

    def _keep(self, current: TicketView, stored: TicketView, guard: Any) -> None:
        self._exists.discard(current.ticket_id)
        self._kept[current.ticket_id] = (current, stored, guard)
        self._kept.move_to_end(current.ticket_id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, ticket_ids: Sequence[str] | None = None) -> None:
        if ticket_ids is None:
            self._kept.clear()
            self._read.clear()
            self._exists.clear()
            return
        for tid in ticket_ids:
            self._kept.pop(tid, None)
            self._read.pop(tid, None)

    async def partitions_changed(self, _partitions: set[Any]) -> None:
        """A rebalance hook (assigned or revoked): another instance may write these tickets' views now."""
        self.forget()

    def __len__(self) -> int:
        return len(self._kept)

    # ---- the rest of the handler's storage, unchanged ----------------------------------------------

    async def add_deliveries(self, docs: Sequence[dict[str, Any]]) -> int:
        return await self.store.add_deliveries(docs)

    async def add_inbox(self, docs: Sequence[dict[str, Any]]) -> None:
        await self.store.add_inbox(docs)

    async def release_held(self, ticket_id: str, cause_id: str, seq: int | None) -> int:
        return await self.store.release_held(ticket_id, cause_id, seq)
