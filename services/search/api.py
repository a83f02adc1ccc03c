"""The search service's internal API (the service token; people reach it only through the gateway's scoping)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shared.contracts.article_search import ArticleSearchRequest, ArticleSearchResponse
from shared.contracts.search_api import SearchRequest, SearchResponse
from shared.runtime.problems import ProblemError, problem_responses
from shared.runtime.service_auth import service_caller

from .article_history import HistoryUnread
from .article_query import article_query
from .article_sync import ArticleSync
from .engine import ArticleIndex, Query, SearchIndex
from .filters import AllOf, ScopeError, request_filter, scope_filter
from .indexer import Indexer
from .settings import SearchSettings
from .text import QueryError, words


class IndexStatus(BaseModel):
    documents: int
    caught_up: bool
    indexed: int
    articles: int = 0


class Rebuilt(BaseModel):
    indexed: int
    articles: int = 0


def query_of(req: SearchRequest) -> Query:
    """The engine query for a request; a 422 problem for a query or scope this service will not run."""
    try:
        return Query(words(req.q), AllOf((scope_filter(req.scope), request_filter(req.filters))), req.notes,
                     req.limit)
    except QueryError as exc:
        raise ProblemError(422, "Invalid query", str(exc)) from exc
    except ScopeError as exc:
        raise ProblemError(422, "Invalid scope", str(exc)) from exc


def router(settings: SearchSettings, engine: SearchIndex, indexer: Indexer, articles: ArticleIndex,
           sync: ArticleSync) -> APIRouter:
    r = APIRouter(prefix="/api/v1", dependencies=[Depends(service_caller(settings))], tags=["internal"])

    @r.post("/search", response_model=SearchResponse, responses=problem_responses(401, 422, 503),
            summary="Tickets matching a query within the scope the caller sends, ranked, with highlights")
    async def search(req: SearchRequest) -> SearchResponse:
        return await engine.search(query_of(req))

    @r.post("/articles/search", response_model=ArticleSearchResponse, responses=problem_responses(401, 422, 503),
            summary="Published articles matching a query that the reader the gateway names may see, ranked")
    async def search_articles(req: ArticleSearchRequest) -> ArticleSearchResponse:
        try:
            query = article_query(req)
        except QueryError as exc:
            raise ProblemError(422, "Invalid query", str(exc)) from exc
        return await articles.search(query)

    @r.get("/index", response_model=IndexStatus, responses=problem_responses(401, 503),
           summary="How many tickets and articles the indexes hold; whether the start's catch-up is done")
    async def status() -> IndexStatus:
        return IndexStatus(documents=await engine.count(), caught_up=indexer.caught_up, indexed=indexer.indexed,
                           articles=await articles.count())

    @r.post("/reindex", response_model=Rebuilt, responses=problem_responses(401, 503),
            summary="Empty both indexes; rebuild tickets from the ledger's histories and articles from "
                    "knowledge.articles read from its beginning (`frontline search reindex`)")
    async def reindex() -> Rebuilt:
        tickets = await indexer.rebuild()
        try:
            return Rebuilt(indexed=tickets, articles=await sync.rebuild())
        except HistoryUnread as exc:
            raise ProblemError(503, "Articles not rebuilt", f"tickets rebuilt ({tickets}); articles not: {exc}",
                               headers={"Retry-After": "5"}) from exc

    return r
