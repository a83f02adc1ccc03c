"""The knowledge service's feed of articles, as the search service reads it (its internal API, the service token):
one article's current version, or every published one in pages. The search service never reads the knowledge
service's database."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from shared.contracts.article_search import IndexedArticle, IndexedArticlePage

from .settings import SearchSettings

PAGE = 200


class FeedUnavailable(Exception):
    """The knowledge API could not answer now (away, failing, or an answer that is not an article)."""


class KnowledgeFeed:
    def __init__(self, settings: SearchSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings, self.transport = settings, transport
        self.http = self._client()

    def _client(self) -> httpx.AsyncClient:
        token = self.settings.service_token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        return httpx.AsyncClient(base_url=self.settings.knowledge_url.rstrip("/") + "/api/v1/index", headers=headers,
                                 transport=self.transport, timeout=self.settings.knowledge_timeout_seconds)

    async def start(self) -> None:
        if self.http.is_closed:  # started again after a stop
            self.http = self._client()

    async def stop(self) -> None:
        await self.http.aclose()

    async def _get(self, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        try:
            resp = await self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise FeedUnavailable(f"the knowledge API could not be reached ({type(exc).__name__})") from exc
        if not resp.is_success and resp.status_code != 404:
            raise FeedUnavailable(f"the knowledge API answered {resp.status_code}")
        return resp

    async def article(self, article_id: str) -> IndexedArticle | None:
        """The article as it is now; None when the knowledge service has no such article."""
        resp = await self._get(f"/articles/{quote(article_id, safe='')}")  # an id is never a path
        if resp.status_code == 404:
            return None
        try:
            return IndexedArticle.model_validate_json(resp.content)
        except ValueError as exc:
            raise FeedUnavailable(f"the knowledge API answered an unexpected article: {exc}") from exc

    async def published(self, after: str | None) -> IndexedArticlePage:
        resp = await self._get("/articles", {"limit": PAGE, **({"after": after} if after else {})})
        try:
            return IndexedArticlePage.model_validate_json(resp.content)
        except ValueError as exc:
            raise FeedUnavailable(f"the knowledge API answered an unexpected page: {exc}") from exc
