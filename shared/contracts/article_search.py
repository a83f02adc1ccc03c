"""The article index's internal API: how the gateway asks the search service (``/api/v1/articles/search``); the
search service learns the articles themselves from ``knowledge.articles`` (``shared/contracts/schemas/knowledge.py``).

The gateway sends the reader's scope (audience and client category, as it computes them for the knowledge API); the
search service applies the one visibility rule (``article_visibility.py``) before it counts or ranks, so a total
never counts an article the reader may not see.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.knowledge_api import MAX_QUERY_CHARS, Audience
from shared.contracts.schemas.common import Strict

MAX_ARTICLE_HITS = 100


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
