"""The production engine's article index: its own OpenSearch index (``SEARCH_OPENSEARCH_ARTICLE_INDEX``) on the same
cluster as the tickets'. Writes wait for the refresh, so an article is searchable when ``upsert`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.contracts.article_search import ArticleSearchResponse

from .article_query import ArticleQuery
from .articles import ArticleDoc
from .opensearch_article_query import article_body, article_document, article_mapping, article_response
from .opensearch_index import OpenSearchIndex
from .settings import SearchSettings


class OpenSearchArticles:
    def __init__(self, settings: SearchSettings) -> None:
        self.base = OpenSearchIndex(settings)  # its client, bulk writes, deletes by id, count and clear
        self.base.name = self.name = settings.opensearch_article_index
        self.client = self.base.client

    async def start(self) -> None:
        if not await self.client.indices.exists(index=self.name):
            await self.client.indices.create(index=self.name, body=article_mapping())

    async def stop(self) -> None:
        await self.base.stop()

    async def upsert(self, docs: Sequence[ArticleDoc]) -> None:
        actions: list[dict[str, Any]] = []
        for d in docs:
            actions += [{"index": {"_index": self.name, "_id": d.article_id}}, article_document(d)]
        await self.base._bulk(actions)  # the same bulk write and its error check

    async def versions(self, article_ids: Sequence[str]) -> dict[str, int]:
        if not article_ids:
            return {}
        async with self.base.call("reading articles' versions"):
            found = await self.client.mget(index=self.name, body={"ids": list(article_ids)}, _source=["version"])
        return {d["_id"]: int(d["_source"]["version"]) for d in found["docs"] if d.get("found")}

    async def search(self, query: ArticleQuery) -> ArticleSearchResponse:
        return article_response(await self.client.search(index=self.name, body=article_body(query)))

    async def count(self) -> int:
        async with self.base.call("a count"):
            found = await self.client.count(index=self.name, body={"query": {"term": {"status": "published"}}})
        return int(found["count"])

    async def clear(self) -> None:
        await self.base.clear()
