"""News: list what the viewer's audience sees now (editors: also scheduled and expired items), create, edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.contracts.knowledge_api import MAX_LIST, NewsIn, NewsOut, NewsPage, NewsWrite, RenderedText
from shared.contracts.schemas.knowledge import NewsSaved
from shared.runtime.ids import new_id
from shared.runtime.problems import ProblemError, problem_responses

from .. import domain
from ..domain import News
from ..library import Library
from ..render import render
from .common import CurrentViewer

Id = Annotated[str, Path(min_length=1, max_length=200)]


def out(item: News) -> NewsOut:
    rendered = {lang: RenderedText(title=t.title, html=render(t.body)) for lang, t in item.content.items()}
    return NewsOut(**item.model_dump(), rendered=rendered)


def router(lib: Library) -> APIRouter:
    r = APIRouter()

    async def save(news_id: str, body: NewsIn, actor: str) -> NewsOut:
        item = News(id=news_id, updated_at=lib.clock.now(), updated_by=actor, **body.model_dump())
        await lib.store.save_news(item)
        await lib.announce(news_id, NewsSaved(news_id=news_id, audience=item.audience, publish_at=item.publish_at,
                                              unpublish_at=item.unpublish_at, by=actor), actor)
        return out(item)

    @r.get("/news", response_model=NewsPage, responses=problem_responses(401, 422),
           summary="News for the viewer's audience between their dates, newest first")
    async def news(v: CurrentViewer, scheduled: bool = False,
                   limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 20) -> NewsPage:
        now = lib.clock.now()
        found = await lib.store.news_list(domain.news_filter(v, now, scheduled), limit)
        return NewsPage(items=[out(n) for n in found if scheduled and v.audience == "editor"
                               or domain.news_shown(v, n, now)])

    @r.post("/news", response_model=NewsOut, status_code=201, responses=problem_responses(401, 422),
            summary="A news item")
    async def create(body: NewsWrite) -> NewsOut:
        return await save(new_id(), body.news, body.actor)

    @r.put("/news/{news_id}", response_model=NewsOut, responses=problem_responses(401, 404, 422),
           summary="Change a news item (its dates too: unpublishing is setting unpublish_at)")
    async def edit(news_id: Id, body: NewsWrite) -> NewsOut:
        if await lib.store.news_item(news_id) is None:
            raise ProblemError(404, "Not Found", f"no news item {news_id}")
        return await save(news_id, body.news, body.actor)

    return r
