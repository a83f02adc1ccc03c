"""The knowledge service's MongoDB: articles (current version), every version, news.

Articles are written compare-and-set on their version, so two editors saving at once cannot both win: the second
gets a conflict and saves again on the newer version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.collections import KNOWLEDGE_ARTICLES, KNOWLEDGE_NEWS, KNOWLEDGE_VERSIONS

from .domain import Article, News, Version

INDEXES = {
    KNOWLEDGE_ARTICLES: [IndexModel([("status", ASCENDING), ("published_at", DESCENDING)]),
                         IndexModel([("status", ASCENDING), ("views", DESCENDING)]),
                         IndexModel([("tags", ASCENDING)]), IndexModel([("categories", ASCENDING)])],
    KNOWLEDGE_VERSIONS: [IndexModel([("article_id", ASCENDING), ("version", ASCENDING)], unique=True)],
    KNOWLEDGE_NEWS: [IndexModel([("publish_at", DESCENDING)])],
}


class Conflict(Exception):
    """The article changed since it was read."""


class ArticleStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.articles, self.versions, self.news = db[KNOWLEDGE_ARTICLES], db[KNOWLEDGE_VERSIONS], db[KNOWLEDGE_NEWS]

    async def get(self, article_id: str, where: dict[str, Any] | None = None) -> Article | None:
        doc = await self.articles.find_one({"_id": article_id, **(where or {})})
        return _article(doc) if doc else None

    async def save(self, article: Article, version: Version, before: int | None) -> None:
        """Insert (``before`` None) or replace the version ``before``; the version is kept either way."""
        doc = {"_id": article.id, **article.model_dump(exclude={"id", "views"})}
        try:
            if before is None:
                await self.articles.insert_one({**doc, "views": 0})
            else:
                res = await self.articles.update_one({"_id": article.id, "version": before}, {"$set": doc})
                if res.matched_count != 1:
                    raise Conflict(article.id)
            await self.versions.insert_one({"article_id": article.id, **version.model_dump(),
                                            "snapshot": article.model_dump(exclude={"views"})})
        except DuplicateKeyError as exc:
            raise Conflict(article.id) from exc

    async def history(self, article_id: str) -> list[Version]:
        cursor = self.versions.find({"article_id": article_id}, {"snapshot": 0}).sort("version", ASCENDING)
        return [Version.model_validate(d) async for d in cursor]

    async def find(self, where: dict[str, Any], sort: list[tuple[str, int]] | None = None,
                   limit: int = 100) -> list[Article]:
        cursor = self.articles.find(where)
        if sort:
            cursor = cursor.sort(sort)
        return [_article(d) async for d in cursor.limit(limit)]

    async def published(self, batch: int = 500) -> AsyncIterator[Article]:
        """Every published article, in id order, read a batch at a time."""
        after = ""
        while True:
            page = [_article(d) async for d in self.articles.find({"status": "published", "_id": {"$gt": after}})
                    .sort("_id", ASCENDING).limit(batch)]
            for article in page:
                yield article
            if len(page) < batch:
                return
            after = page[-1].id

    async def viewed(self, article_id: str) -> None:
        await self.articles.update_one({"_id": article_id}, {"$inc": {"views": 1}})

    # ---- news ----

    async def news_item(self, news_id: str) -> News | None:
        doc = await self.news.find_one({"_id": news_id})
        return _news(doc) if doc else None

    async def save_news(self, item: News) -> None:
        await self.news.replace_one({"_id": item.id}, {"_id": item.id, **item.model_dump(exclude={"id"})},
                                    upsert=True)

    async def news_list(self, where: dict[str, Any], limit: int) -> list[News]:
        cursor = self.news.find(where).sort([("publish_at", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_news(d) async for d in cursor]


def _article(doc: dict[str, Any]) -> Article:
    return Article.model_validate({**{k: v for k, v in doc.items() if k != "_id"}, "id": doc["_id"]})


def _news(doc: dict[str, Any]) -> News:
    return News.model_validate({**{k: v for k, v in doc.items() if k != "_id"}, "id": doc["_id"]})
