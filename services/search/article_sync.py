"""Keeps the article index equal to what the knowledge service has published: on each article event (and for the
articles that wait because the knowledge API was away) the article's current version is read from the knowledge API
and its document replaced, or removed when it is not published. Reading the current version, never the event's, makes
a redelivered or reordered event change nothing; a rebuild pages through every published article."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import SEARCH_ARTICLES
from shared.runtime.clock import Clock

from .articles import article_doc
from .engine import ArticleIndex
from .knowledge_feed import FeedUnavailable, KnowledgeFeed

log = logging.getLogger(__name__)
BATCH = 100


class Waiting:
    """Articles whose event came while the knowledge API was away (kept across restarts)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.col = db[SEARCH_ARTICLES]

    async def add(self, article_id: str, at: datetime) -> None:
        await self.col.update_one({"_id": article_id}, {"$set": {"at": at}}, upsert=True)

    async def due(self, limit: int) -> list[tuple[str, datetime]]:
        return [(d["_id"], d["at"]) async for d in self.col.find({}).sort([("at", ASCENDING)]).limit(limit)]

    async def done(self, article_id: str, at: datetime) -> None:
        """Only the entry that was synced: one added again meanwhile (a newer event) stays."""
        await self.col.delete_one({"_id": article_id, "at": at})


class ArticleSync:
    def __init__(self, feed: KnowledgeFeed, engine: ArticleIndex, waiting: Waiting, clock: Clock,
                 retry_seconds: float) -> None:
        self.feed, self.engine, self.waiting, self.clock = feed, engine, waiting, clock
        self.retry_seconds = retry_seconds
        self._lock = asyncio.Lock()  # a read and its write are one step: an older read never overwrites a newer one
        self._retry_at = 0.0
        self.caught_up = False

    async def sync(self, article_id: str) -> bool:
        """The article's document as the knowledge service has it now; False when it has no such article."""
        async with self._lock:
            article = await self.feed.article(article_id)
            doc = article_doc(article) if article is not None else None
            if doc is not None:
                await self.engine.upsert([doc])
            else:
                await self.engine.delete([article_id])
        return article is not None

    async def later(self, article_id: str) -> None:
        await self.waiting.add(article_id, self.clock.now())

    async def _load(self) -> int:
        """Every published article, a page at a time."""
        count, after = 0, None
        while True:
            async with self._lock:
                page = await self.feed.published(after)
                docs = [d for d in (article_doc(a) for a in page.items) if d is not None]
                if docs:
                    await self.engine.upsert(docs)
            count, after = count + len(docs), page.next
            if after is None:
                return count

    async def rebuild(self) -> int:
        """Empty the article index and index every published article again; how many."""
        async with self._lock:
            await self.engine.clear()
        count = await self._load()
        self.caught_up = True
        return count

    async def round(self) -> None:
        """An empty index (a new or lost disk) is filled first; then the articles that wait are synced."""
        if time.monotonic() < self._retry_at:
            return
        try:
            if not self.caught_up:
                if await self.engine.count() == 0:
                    await self._load()
                self.caught_up = True
            for article_id, at in await self.waiting.due(BATCH):
                await self.sync(article_id)
                await self.waiting.done(article_id, at)
        except FeedUnavailable as exc:
            self._retry_at = time.monotonic() + self.retry_seconds
            log.warning("knowledge API unavailable; articles wait", extra={"error": str(exc),
                                                                          "retry_in": self.retry_seconds})
