"""Routing's view of each ticket kept in memory between the records of its partitions.

Routing read its view of a ticket back from the database for every event (three reads from open to offer) though
it is the view's only writer: while this instance holds a ticket's partition, the view it last saved is the
stored one. So ``get`` answers from memory what this process read or saved, and reads the database otherwise (a
ticket seen first, or after a restart); ``save`` writes through, compare-and-set as before, and keeps the view only once
the write succeeded. ``remember`` keeps a view that differs from the saved one only in what routing does not
decide on (``projection.needs_write``), under the saved version, so the next write is still compare-and-set on it.
Any change of the partitions it holds forgets everything, since another instance may have written meanwhile; a
failed or refused write forgets that ticket, so the consumer's retry reads the stored one. At most ``size`` views
are kept, least recently used out (a resolved ticket too: its completion follows).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from .projection import TicketView
from .store import ProjectionStore

DEFAULT_SIZE = 10_000


class ViewMemory:
    def __init__(self, store: ProjectionStore, size: int = DEFAULT_SIZE) -> None:
        self.store, self.size = store, size
        self._views: OrderedDict[str, tuple[TicketView, int]] = OrderedDict()

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]:
        return (await self.get_many([ticket_id]))[ticket_id]

    async def get_many(self, ticket_ids: Iterable[str], opening: Collection[str] = (),
                       ) -> dict[str, tuple[TicketView | None, int]]:
        """Kept views from memory, the others in one read (``opening``: as ``ProjectionStore.get_many``)."""
        out: dict[str, tuple[TicketView | None, int]] = {}
        missing: list[str] = []
        for ticket_id in ticket_ids:
            kept = self._views.get(ticket_id)
            if kept is None:
                missing.append(ticket_id)
            else:
                self._views.move_to_end(ticket_id)
                out[ticket_id] = kept
        if missing:
            read = await self.store.get_many(missing, opening)
            out.update(read)
            for view, version in read.values():
                kept = self._views.get(view.id) if view is not None else None
                if view is not None and (kept is None or kept[1] < version):  # not over a save made meanwhile
                    self._keep(view, version)
        return out

    async def save(self, view: TicketView, version: int) -> None:
        await self.save_many([(view, version)])

    async def save_many(self, saves: Sequence[tuple[TicketView, int]]) -> None:
        try:
            await self.store.save_many(saves)
        except BaseException:  # refused (another writer) or unknown (a write may or may not have landed)
            for view, _ in saves:
                self._views.pop(view.id, None)
            raise
        for view, version in saves:
            self._keep(view, version + 1)

    def remember(self, view: TicketView, version: int) -> None:
        """Keep ``view`` unwritten: the stored view at ``version`` decides as it does. Dropped instead when a save
        (the timer loop's) moved the view past ``version`` meanwhile, so the next use reads the stored one."""
        kept = self._views.get(view.id)
        if kept is not None and kept[1] != version:
            del self._views[view.id]
            return
        self._keep(view, version)

    def _keep(self, view: TicketView, version: int) -> None:
        self._views[view.id] = (view, version)
        self._views.move_to_end(view.id)
        while len(self._views) > self.size:
            self._views.popitem(last=False)

    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]:
        return await self.store.loads(agent_ids)

    def forget(self) -> None:
        """Drop every kept view: the next read of each ticket goes to the database."""
        self._views.clear()

    async def partitions_changed(self, _partitions: set[Any]) -> None:
        """A rebalance hook (assigned or revoked): what another instance wrote meanwhile is not in memory."""
        self.forget()

    def __len__(self) -> int:
        return len(self._views)
