"""The embedded engine's article index: a tantivy index of its own (``SEARCH_INDEX_DIR``/articles), the tickets'
Russian-and-English stemming with both languages' stop words dropped. It holds only what ``knowledge.articles`` holds,
so one on disk with another schema (an older build's) is emptied and filled again from the topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import tantivy as tv

from shared.contracts.article_search import ArticleHighlight, ArticleHit, ArticleSearchResponse

from .article_query import ArticleQuery, needed
from .articles import ArticleDoc
from .tantivy_base import TantivyBase
from .tantivy_query import ARTICLE_ANALYZER, ARTICLE_TEXTS, analyzer, article_schema, filter_query, stems_query

ARTICLE_HEAP = 15_000_000  # the smallest writer tantivy takes: articles are few and short next to tickets
log = logging.getLogger(__name__)


class TantivyArticles(TantivyBase):
    def __init__(self, path: str | None, heap_bytes: int = ARTICLE_HEAP) -> None:
        super().__init__(path, heap_bytes, article_schema(), ARTICLE_ANALYZER, analyzer(stop_words=True))

    @staticmethod
    def _document(d: ArticleDoc) -> tv.Document:
        doc = tv.Document(article_id=d.article_id, title=d.title, text=d.text, labels=d.labels, status=d.status,
                          visibility=d.visibility, version=d.version)
        for name in ("client_categories", "categories", "tags"):
            for value in getattr(d, name):
                doc.add_text(name, value)
        return doc

    async def upsert(self, docs: Sequence[ArticleDoc]) -> None:
        built = [(d.article_id, self._document(d)) for d in docs]

        def change(w: Any) -> None:
            for article_id, doc in built:
                w.delete_documents_by_term("article_id", article_id)
                w.add_document(doc)

        await self._write(change)

    async def versions(self, article_ids: Sequence[str]) -> dict[str, int]:
        return await asyncio.to_thread(self._versions, article_ids)

    def _versions(self, article_ids: Sequence[str]) -> dict[str, int]:
        searcher, held = self.index.searcher(), {}
        for article_id in dict.fromkeys(article_ids):
            result = searcher.search(tv.Query.term_query(self.schema, "article_id", article_id), 1)
            for _, address in result.hits:
                held[article_id] = int(searcher.doc(address)["version"][0])
        return held

    async def count(self) -> int:
        published = tv.Query.term_query(self.schema, "status", "published")
        return int(getattr(self.index.searcher().search(published, 1, count=True), "count", 0) or 0)

    async def search(self, query: ArticleQuery) -> ArticleSearchResponse:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: ArticleQuery) -> ArticleSearchResponse:
        words = [q for w in query.words for q in stems_query(self.schema, self.analyzer, w, ARTICLE_TEXTS)]
        if not words:  # stop words only
            return ArticleSearchResponse(total=0, hits=[])
        text = tv.Query.boolean_query([(tv.Occur.Should, w) for w in words], needed(len(words)))
        scope = tv.Query.const_score_query(filter_query(self.schema, query.filter), 0.0)  # filters do not rank
        searcher = self.index.searcher()
        result = searcher.search(tv.Query.boolean_query([(tv.Occur.Must, text), (tv.Occur.Must, scope)]),
                                 query.limit, count=True)
        snippets = self._snippets(searcher, text, ARTICLE_TEXTS)
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            hits.append(ArticleHit(article_id=doc["article_id"][0], score=float(score), highlights=[
                ArticleHighlight(field=f, html=h) for f, h in self._highlights(snippets, doc)]))  # type: ignore[arg-type]
        return ArticleSearchResponse(total=int(getattr(result, "count", 0) or 0), hits=hits)
