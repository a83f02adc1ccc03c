"""What people do with an article: view it, vote on it, say it solved their problem, insert it into a ticket's
reply; and the numbers editors read from that (per article, the content gaps)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.contracts.knowledge_api import (
    MAX_LIST,
    ArticlePage,
    ArticleStats,
    Counted,
    GapIn,
    GapReport,
    LinkIn,
    SuggestIn,
    VoteIn,
    VoteOut,
)
from shared.contracts.schemas.knowledge import ArticleLinked
from shared.runtime.problems import problem_responses

from ..library import Library
from .common import CurrentViewer, answered, not_found

Id = Annotated[str, Path(min_length=1, max_length=200)]


def router(lib: Library, min_suggestion_score: float) -> APIRouter:
    r = APIRouter()
    stats = lib.stats

    @r.post("/articles/{article_id}/views", response_model=Counted, responses=problem_responses(401, 404, 422),
            summary="The viewer read the article (counted once per person and day)")
    async def view(article_id: Id, v: CurrentViewer) -> Counted:
        async with answered(article_id):
            await lib.visible(v, article_id)
        counted = await stats.view(article_id, v.user_id, lib.clock.now())
        if counted:
            await lib.store.viewed(article_id)
        return Counted(counted=counted)

    @r.put("/articles/{article_id}/vote", response_model=VoteOut, responses=problem_responses(401, 404, 422),
           summary="Was this helpful: one vote per person and article, the last answer kept")
    async def vote(article_id: Id, body: VoteIn, v: CurrentViewer) -> VoteOut:
        async with answered(article_id):
            await lib.visible(v, article_id)
        await stats.vote(article_id, v.user_id, body.helpful, lib.clock.now())
        helpful, against, mine = await stats.votes(article_id, v.user_id)
        return VoteOut(helpful=helpful, not_helpful=against, my_vote=mine)

    @r.post("/articles/{article_id}/deflections", response_model=Counted, responses=problem_responses(401, 404, 422),
            summary="A client says the article solved his problem (counted once per person and article)")
    async def deflect(article_id: Id, v: CurrentViewer) -> Counted:
        async with answered(article_id):
            await lib.visible(v, article_id)
        return Counted(counted=await stats.deflect(article_id, v.user_id, lib.clock.now()))

    @r.post("/articles/{article_id}/links", response_model=Counted, responses=problem_responses(401, 404, 422),
            summary="An agent inserted the article into a reply on a ticket (recorded once per ticket)")
    async def link(article_id: Id, body: LinkIn, v: CurrentViewer) -> Counted:
        async with answered(article_id):
            await lib.visible(v, article_id)
        counted = await stats.link(article_id, body.ticket_id, body.actor, lib.clock.now())
        if counted:
            await lib.announce(article_id, ArticleLinked(article_id=article_id, ticket_id=body.ticket_id,
                                                         by=body.actor), body.actor)
        return Counted(counted=counted)

    @r.get("/articles/{article_id}/stats", response_model=ArticleStats, responses=problem_responses(401, 404, 422),
           summary="Views, votes, deflections, linked tickets and how many were settled by it (editors)")
    async def article_stats(article_id: Id, v: CurrentViewer) -> ArticleStats:
        if v.audience != "editor":
            raise not_found(article_id)
        async with answered(article_id):
            article = await lib.visible(v, article_id)
        return await stats.of(article_id, article.views)

    @r.post("/suggestions", response_model=ArticlePage, responses=problem_responses(401, 422),
            summary="Published articles the viewer may see, most relevant to the text first")
    async def suggestions(body: SuggestIn, v: CurrentViewer) -> ArticlePage:
        return ArticlePage(items=await lib.suggest(v, body.text, body.limit, min_suggestion_score))

    @r.post("/gaps", response_model=Counted, responses=problem_responses(401, 422),
            summary="A search that found nothing for its reader (the gateway reports it after the search service)")
    async def gap(body: GapIn) -> Counted:
        return Counted(counted=await lib.nothing_found(body.query))

    @r.get("/gaps", response_model=GapReport, responses=problem_responses(401, 422),
           summary="Searches that found nothing, by normalised query, the most frequent first")
    async def gaps(limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50) -> GapReport:
        return GapReport(items=await stats.gap_report(limit))

    return r
