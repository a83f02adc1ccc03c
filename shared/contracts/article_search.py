"""The article index's two internal APIs: what the knowledge service feeds the search service (each article's
searchable text, ``/api/v1/index/articles``) and how the gateway asks the search service (``/api/v1/articles/search``).

The gateway sends the reader's scope (audience and client category, as it computes them for the knowledge API); the
search service applies the one visibility rule (``article_visibility.py``) before it counts or ranks, so a total
never counts an article the reader may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.knowledge_api import MAX_QUERY_CHARS, ArticleStatus, Audience, Visibility
from shared.contracts.language import Language
from shared.contracts.schemas.common import Strict

MAX_ARTICLE_HITS = 100
MAX_FEED_PAGE = 500


class IndexedText(Strict):
    title: str
    text: str = Field(description="The body's Markdown rendered and reduced to plain text")


class IndexedArticle(Strict):
    """One article as the index needs it (internal: its text may be an internal article's)."""

    id: str
    version: int
    status: ArticleStatus
    visibility: Visibility
    client_categories: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    content: dict[Language, IndexedText]
    published_at: datetime | None = None
    updated_at: datetime


class IndexedArticlePage(Strict):
    items: list[IndexedArticle]
    next: str | None = Field(None, description="Pass as ``after`` for the next page; None on the last")


class ArticleScope(Strict):
    audience: Audience
    client_category: str | None = Field(None, max_length=200)


class ArticleSearchRequest(Strict):
    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    scope: ArticleScope = Field(description="The reader, as the gateway computed him")
    category: str | None = Field(None, max_length=200, description="A service catalogue id")
    tag: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=MAX_ARTICLE_HITS)


class ArticleHighlight(BaseModel):
    field: Literal["title", "text", "labels"]
    html: str = Field(description="HTML-escaped text; the matched words wrapped in <mark>…</mark>")


class ArticleHit(BaseModel):
    article_id: str
    score: float
    highlights: list[ArticleHighlight] = Field(default_factory=list)


class ArticleSearchResponse(BaseModel):
    total: int = Field(description="Published articles the reader may see that match (the scope applied first)")
    hits: list[ArticleHit]
