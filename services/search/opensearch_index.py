"""The production engine: an OpenSearch cluster (``SEARCH_ENGINE=opensearch``, ``SEARCH_OPENSEARCH_URL``).

Writes wait for the index refresh, so a ticket is searchable when ``upsert`` returns, as with the embedded engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearchpy import AsyncOpenSearch

from shared.contracts.search_api import SearchResponse

from .domain import IndexDoc
from .engine import Query
from .opensearch_query import document, mapping, response, search_body
from .settings import SearchSettings


class OpenSearchIndex:
    def __init__(self, settings: SearchSettings) -> None:
        self.name = settings.opensearch_index
        auth = None
        if settings.opensearch_username and settings.opensearch_password:
            auth = (settings.opensearch_username, settings.opensearch_password.get_secret_value())
        self.client = AsyncOpenSearch(hosts=[settings.opensearch_url], http_auth=auth)

    async def start(self) -> None:
        if not await self.client.indices.exists(index=self.name):
            await self.client.indices.create(index=self.name, body=mapping())

    async def stop(self) -> None:
        await self.client.close()

    async def _bulk(self, actions: list[dict[str, Any]]) -> None:
        if actions:
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
        return response(await self.client.search(index=self.name, body=search_body(query)))

    async def count(self) -> int:
        return int((await self.client.count(index=self.name))["count"])

    async def clear(self) -> None:
        await self.client.delete_by_query(index=self.name, body={"query": {"match_all": {}}}, refresh=True)
