"""The production engine: an OpenSearch cluster (``SEARCH_ENGINE=opensearch``, ``SEARCH_OPENSEARCH_URL``).

Writes wait for the index refresh, so a ticket is searchable when ``upsert`` returns, as with the embedded engine.
Whatever the cluster refuses (or a cluster out of reach) becomes one clear error naming the call and OpenSearch's
status: a 503 problem when the gateway asked, a logged round the indexer retries, a refused start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import TransportError

from shared.contracts.search_api import SearchResponse
from shared.runtime.problems import ProblemError

from .domain import IndexDoc
from .engine import Query
from .opensearch_query import document, mapping, response, search_body
from .settings import SearchSettings


class OpenSearchIndex:
    def __init__(self, settings: SearchSettings) -> None:
        self.name = settings.opensearch_index
        self.url = settings.opensearch_url
        auth = None
        if settings.opensearch_username and settings.opensearch_password:
            auth = (settings.opensearch_username, settings.opensearch_password.get_secret_value())
        tls: dict[str, Any] = {"ca_certs": settings.opensearch_ca_file} if settings.opensearch_ca_file else {}
        self.client = AsyncOpenSearch(hosts=[settings.opensearch_url], http_auth=auth, **tls)

    @asynccontextmanager
    async def call(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except TransportError as exc:
            said = f"answered {exc.status_code} ({exc.error})" if isinstance(exc.status_code, int) else \
                f"could not be reached ({exc.error})"
            raise ProblemError(503, "Search engine unavailable", f"OpenSearch at {self.url} {said} to {what}") from exc

    async def start(self) -> None:
        async with self.call(f"checking the index {self.name}"):
            if not await self.client.indices.exists(index=self.name):
                await self.client.indices.create(index=self.name, body=mapping())

    async def stop(self) -> None:
        await self.client.close()

    async def _bulk(self, actions: list[dict[str, Any]]) -> None:
        if actions:
            async with self.call("a bulk write"):
                result = await self.client.bulk(body=actions, refresh="wait_for")
            if result.get("errors"):
                raise RuntimeError(f"OpenSearch refused part of a bulk write: {str(result)[:500]}")

    async def upsert(self, docs: Sequence[IndexDoc]) -> None:
        actions: list[dict[str, Any]] = []
        for d in docs:
            actions += [{"index": {"_index": self.name, "_id": d.ticket_id}}, document(d)]
        await self._bulk(actions)

    async def delete(self, ticket_ids: Sequence[str]) -> None:
        await self._bulk([{"delete": {"_index": self.name, "_id": t}} for t in ticket_ids])

    async def search(self, query: Query) -> SearchResponse:
        async with self.call("a search"):
            return response(await self.client.search(index=self.name, body=search_body(query)))

    async def count(self) -> int:
        async with self.call("a count"):
            return int((await self.client.count(index=self.name))["count"])

    async def clear(self) -> None:
        async with self.call("emptying the index"):
            await self.client.delete_by_query(index=self.name, body={"query": {"match_all": {}}}, refresh=True)
