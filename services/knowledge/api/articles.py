"""Articles: list and search, read (rendered), write (a new version each), the workflow, the version history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.contracts.knowledge_api import (
    MAX_LIST,
    ArticleOut,
    ArticlePage,
    ArticleWrite,
    TransitionIn,
    VersionOut,
    VersionPage,
)
from shared.runtime.problems import problem_responses

from ..library import Library
from .common import CurrentViewer, answered, not_found

Id = Annotated[str, Path(min_length=1, max_length=200)]
Word = Annotated[str | None, Query(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIST)]


def router(lib: Library) -> APIRouter:
    r = APIRouter()

    @r.get("/articles", response_model=ArticlePage, responses=problem_responses(401, 422),
           summary="Articles the viewer may see, newest first; with ids: those of them, in that order")
    async def articles(v: CurrentViewer, category: Word = None, tag: Word = None, limit: Limit = 20,
                       ids: Annotated[list[str] | None, Query(max_length=MAX_LIST)] = None) -> ArticlePage:
        if ids:
            return ArticlePage(items=await lib.summaries(v, ids))
        return ArticlePage(items=await lib.search(v, category, tag, limit))

    @r.get("/articles/recent", response_model=ArticlePage, responses=problem_responses(401, 422),
           summary="The most recently published articles the viewer may see")
    async def recent(v: CurrentViewer, limit: Limit = 10) -> ArticlePage:
        return ArticlePage(items=await lib.listed(v, "published_at", limit))

    @r.get("/articles/popular", response_model=ArticlePage, responses=problem_responses(401, 422),
           summary="The most viewed published articles the viewer may see")
    async def popular(v: CurrentViewer, limit: Limit = 10) -> ArticlePage:
        return ArticlePage(items=await lib.listed(v, "views", limit))

    @r.get("/articles/{article_id}", response_model=ArticleOut, responses=problem_responses(401, 404, 422),
           summary="One article with its Markdown rendered to safe HTML (404 when the viewer may not see it)")
    async def article(article_id: Id, v: CurrentViewer) -> ArticleOut:
        async with answered(article_id):
            return await lib.out(v, await lib.visible(v, article_id))

    @r.post("/articles", response_model=ArticleOut, status_code=201, responses=problem_responses(401, 422),
            summary="A new article, as a draft (version 1)")
    async def create(body: ArticleWrite, v: CurrentViewer) -> ArticleOut:
        return await lib.out(v, await lib.create(body.article, body.actor))

    @r.put("/articles/{article_id}", response_model=ArticleOut, responses=problem_responses(401, 404, 409, 422),
           summary="Save an article: a new version (who, when, what changed); under review it returns to draft")
    async def edit(article_id: Id, body: ArticleWrite, v: CurrentViewer) -> ArticleOut:
        async with answered(article_id):
            return await lib.out(v, await lib.edit(article_id, body.article, body.actor, body.can_publish))

    @r.post("/articles/{article_id}/transitions", response_model=ArticleOut,
            responses=problem_responses(401, 404, 409, 422),
            summary="A workflow step: submit, reject, publish, archive, restore")
    async def move(article_id: Id, body: TransitionIn, v: CurrentViewer) -> ArticleOut:
        async with answered(article_id):
            return await lib.out(v, await lib.move(article_id, body.action, body.actor))

    @r.get("/articles/{article_id}/versions", response_model=VersionPage,
           responses=problem_responses(401, 404, 422), summary="Every version of an article (editors only)")
    async def versions(article_id: Id, v: CurrentViewer) -> VersionPage:
        if v.audience != "editor":
            raise not_found(article_id)
        async with answered(article_id):
            await lib.visible(v, article_id)
        return VersionPage(items=[VersionOut(**h.model_dump()) for h in await lib.store.history(article_id)])

    return r
