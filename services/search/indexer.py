"""Writes changed tickets to the engine in rounds: one engine commit per round, not one per event.

The consumer stores each ticket's state and hands it here; its Kafka offset may be committed before the round
that indexes it. So every state carries the time it was written, each round records a watermark, and a start
re-indexes whatever was written since the last watermark (less a margin): a crash between the two loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from shared.runtime.clock import Clock

from .domain import SearchState, fold, index_doc
from .engine import SearchIndex
from .store import PeopleReader, SearchStore

log = logging.getLogger(__name__)
# Longer than any write of a state takes to reach the buffer after its written_at was stamped.
MARGIN = timedelta(seconds=30)


class Indexer:
    def __init__(self, store: SearchStore, people: PeopleReader, engine: SearchIndex, clock: Clock,
                 batch: int) -> None:
        self.store, self.people, self.engine, self.clock, self.batch = store, people, engine, clock, batch
        self._pending: dict[str, SearchState] = {}
        self._caught_up = False
        self._directory_seen: datetime | None = None
        self._lock = asyncio.Lock()
        self.indexed = 0

    def add(self, state: SearchState) -> None:
        current = self._pending.get(state.ticket.id)
        if current is None or current.version <= state.version:
            self._pending[state.ticket.id] = state

    @property
    def caught_up(self) -> bool:
        return self._caught_up

    async def write(self, states: list[SearchState]) -> None:
        docs = [index_doc(s, await self.people.people(s.ticket.client.client_id if s.ticket.client else None,
                                                      s.ticket.client.contact_id if s.ticket.client else None))
                for s in states]
        await self.engine.upsert(docs)
        self.indexed += len(docs)

    async def round(self) -> None:
        """Index what changed since the last round (on the first: since the last watermark). A round that found
        nothing leaves the watermark where it is (states written since are what the next round takes anyway), so an
        idle desk does not write it several times a second."""
        async with self._lock:
            started = self.clock.now()
            wrote = not self._caught_up or bool(self._pending)
            if not self._caught_up:
                # an empty index (a new or lost disk) takes every stored state, not only the recent ones
                mark = await self.store.watermark() if await self.engine.count() else None
                async for page in self.store.written_since(mark - MARGIN if mark else None, self.batch):
                    await self.write(page)
                self._caught_up = True
            while self._pending:
                taken = dict(list(self._pending.items())[:self.batch])
                for key in taken:
                    del self._pending[key]
                try:
                    await self.write(list(taken.values()))
                except Exception:
                    for state in taken.values():  # the next round tries again (a newer state wins)
                        self.add(state)
                    raise
            if wrote:
                await self.store.set_watermark(started)

    async def rebuild(self) -> int:
        """Empty the engine and index every ticket the ledger has, from its history; the number indexed."""
        async with self._lock:
            await self.engine.clear()
            count, page = 0, []
            async for history in self.store.histories(self.batch):
                if (state := fold(history)) is not None:
                    page.append(await self.store.save_newest(state, self.clock.now()))
                if len(page) >= self.batch:
                    await self.write(page)
                    count, page = count + len(page), []
            if page:
                await self.write(page)
            return count + len(page)

    async def directory_changes(self) -> None:
        """Tickets of clients and contacts changed in the directory since the last look are indexed again."""
        since, self._directory_seen = self._directory_seen, self.clock.now()
        if since is None:
            return  # the first look only sets the mark: the start indexed with the directory as it is
        clients, contacts = await self.people.changed_since(since - timedelta(seconds=1))
        for field, ids in (("client_id", clients), ("contact_id", contacts)):
            for value in ids:
                for state in await self.store.of(field, value):
                    self.add(state)
