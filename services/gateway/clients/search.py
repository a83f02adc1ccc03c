"""The search service's internal API as the gateway calls it: the query, the filters and the caller's scope.

The scope sent is the gateway's own ticket filter for the caller, and the hits that come back are checked again
against MongoDB with the same filter (``api/search.py``), so neither a search bug nor a stale index can show a
ticket the caller may not open. Article searches send the reader's audience and client category, and the hits are
checked again by the knowledge service (``api/knowledge.py``). The search service refusing the query (422) passes
through; it failing or being away is a 502/503 problem, never a 500.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts.article_search import ArticleSearchRequest, ArticleSearchResponse
from shared.contracts.search_api import SearchRequest, SearchResponse
from shared.runtime.problems import ProblemError

from ..settings import GatewaySettings
from .internal import InternalService, json_object

UNAVAILABLE = {"Retry-After": "5"}
M = TypeVar("M", bound=BaseModel)


def _parsed(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ProblemError(502, "Bad Gateway", "the search service answered an unexpected body") from exc


class SearchApi(InternalService):
    def __init__(self, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, settings.search_url, settings.search_timeout_seconds, transport)

    async def search(self, request: SearchRequest) -> SearchResponse:
        return _parsed(SearchResponse, await self._post("/search", request))

    async def articles(self, request: ArticleSearchRequest) -> ArticleSearchResponse:
        """Published articles the reader named in ``request.scope`` may see (knowledge base search)."""
        return _parsed(ArticleSearchResponse, await self._post("/articles/search", request))

    async def _post(self, path: str, request: BaseModel) -> dict[str, Any]:
        try:
            resp = await self.http.post(path, json=request.model_dump(mode="json"))
        except httpx.HTTPError as exc:
            raise ProblemError(503, "Search unavailable", f"the search service could not be reached "
                               f"({type(exc).__name__})", headers=UNAVAILABLE) from exc
        body = json_object(resp) if resp.status_code == 422 else {}
        if resp.status_code == 422 and body.get("title") != "Invalid scope":  # the scope is ours: not his fault
            raise ProblemError(422, str(body.get("title") or "Invalid query"), body.get("detail"),
                               errors=body.get("errors"))
        if resp.status_code == 503:
            raise ProblemError(503, "Search unavailable", "the search service is not ready", headers=UNAVAILABLE)
        if not resp.is_success:
            raise ProblemError(502, "Bad Gateway", f"the search service answered {resp.status_code}")
        return json_object(resp)
