"""The search service's feed of articles (service token; no viewer: the search service applies the visibility rule
itself to every query): one article as the index needs it, or every published one in pages for a rebuild."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.contracts.article_search import MAX_FEED_PAGE, IndexedArticle, IndexedArticlePage, IndexedText
from shared.runtime.problems import problem_responses

from ..domain import Article
from ..library import Library
from ..render import plain_text
from .common import not_found

Id = Annotated[str, Path(min_length=1, max_length=200)]


def indexed(article: Article) -> IndexedArticle:
    return IndexedArticle(
        id=article.id, version=article.version, status=article.status, visibility=article.visibility,
        client_categories=article.client_categories, categories=article.categories, tags=article.tags,
        content={lang: IndexedText(title=t.title, text=plain_text(t.body)) for lang, t in article.content.items()},
        published_at=article.published_at, updated_at=article.updated_at)


def router(lib: Library) -> APIRouter:
    r = APIRouter(prefix="/index", tags=["search feed"])

    @r.get("/articles/{article_id}", response_model=IndexedArticle, responses=problem_responses(401, 404, 422),
           summary="The search service: an article's current version and status, its body as plain text")
    async def one(article_id: Id) -> IndexedArticle:
        article = await lib.store.get(article_id)
        if article is None:
            raise not_found(article_id)
        return indexed(article)

    @r.get("/articles", response_model=IndexedArticlePage, responses=problem_responses(401, 422),
           summary="The search service's rebuild: every published article, by id, a page at a time")
    async def published(after: Annotated[str | None, Query(max_length=200)] = None,
                        limit: Annotated[int, Query(ge=1, le=MAX_FEED_PAGE)] = 200) -> IndexedArticlePage:
        where = {"status": "published", **({"_id": {"$gt": after}} if after else {})}
        found = await lib.store.find(where, [("_id", 1)], limit + 1)
        return IndexedArticlePage(items=[indexed(a) for a in found[:limit]],
                                  next=found[limit - 1].id if len(found) > limit else None)

    return r
