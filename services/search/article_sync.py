"""Keeps the article index equal to the newest state of each article on ``knowledge.articles``: a state is written
only when its version is newer than the one the index holds (a redelivered or replayed older record changes nothing);
a rebuild, and the start with an empty index, read the whole topic (``article_history.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .article_history import ArticleHistory
from .articles import ArticleDoc, newest
from .engine import ArticleIndex


class ArticleSync:
    def __init__(self, engine: ArticleIndex, history: ArticleHistory) -> None:
        self.engine, self.history = engine, history
        self._lock = asyncio.Lock()  # a version check and its write are one step; a rebuild is one step

    async def apply(self, docs: Sequence[ArticleDoc]) -> int:
        """Write the documents newer than what the index holds; how many were."""
        async with self._lock:
            return await self._apply(docs)

    async def _apply(self, docs: Sequence[ArticleDoc]) -> int:
        latest = newest(docs)
        held = await self.engine.versions(list(latest))
        fresh = [d for d in latest.values() if d.version > held.get(d.article_id, 0)]
        if fresh:
            await self.engine.upsert(fresh)
        return len(fresh)

    async def fill_if_empty(self) -> None:
        """An empty index (a new or lost disk) is filled from the topic before the consumer starts: the consumer
        group's committed place is past what the index lost."""
        if await self.engine.count() == 0:
            async with self._lock:
                await self._apply(await self.history.read())

    async def rebuild(self) -> int:
        """Empty the article index and fill it from the topic; how many published articles it holds."""
        async with self._lock:  # held throughout: a record the consumer brings meanwhile waits, then is compared
            docs = await self.history.read()
            await self.engine.clear()
            if docs:
                await self.engine.upsert(docs)
        return await self.engine.count()
