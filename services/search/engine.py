"""The one small interface every search engine sits behind, and the choice between them (``SEARCH_ENGINE``).

On one machine an embedded, persistent tantivy index under ``var/search`` (articles under ``var/search/articles``); in
production OpenSearch (an index for tickets, one for articles). The service
code above this interface is the same for both; ``app.py`` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.contracts.article_search import ArticleSearchResponse
from shared.contracts.search_api import SearchResponse

from .article_query import ArticleQuery
from .articles import ArticleDoc
from .domain import IndexDoc
from .filters import Filter


@dataclass(frozen=True)
class Query:
    words: list[str]  # from text.words: never parsed by an engine's query language
    filter: Filter  # scope AND the request's filters
    notes: bool  # match and highlight internal notes (staff)
    limit: int


class SearchIndex(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Add or replace these tickets; searchable and durable when it returns."""

    async def delete(self, ticket_ids: Sequence[str]) -> None: ...

    async def search(self, query: Query) -> SearchResponse: ...

    async def count(self) -> int:
        """Tickets in the index."""

    async def clear(self) -> None:
        """Remove every ticket (before a rebuild)."""


class ArticleIndex(Protocol):
    """Knowledge articles, in an index of their own beside the tickets' (published versions; withdrawn ones as
    documents with no words)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def upsert(self, docs: Sequence[ArticleDoc]) -> None:
        """Add or replace these articles; searchable and durable when it returns."""

    async def versions(self, article_ids: Sequence[str]) -> dict[str, int]:
        """The version the index holds of each of these articles (a withdrawn one's too); absent ones left out."""

    async def search(self, query: ArticleQuery) -> ArticleSearchResponse: ...

    async def count(self) -> int:
        """Published articles in the index."""

    async def clear(self) -> None: ...
