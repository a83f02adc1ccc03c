"""The search service's internal HTTP API as the gateway calls it (``services/search/api.py`` serves it).

The gateway is the only door for people: it sends the caller's ticket scope as the MongoDB filter its own scope
rule builds (``services/gateway/access/scope.py``), so the rule stays in one place; the search service translates
that filter into its engine's terms and refuses any shape it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.contracts.schemas.common import Strict, TicketStatus

MAX_QUERY_CHARS = 500  # longer than any sentence someone types into a search box
MAX_HITS = 100


class SearchFilters(Strict):
    status: list[TicketStatus] = Field(default_factory=list, max_length=len(TicketStatus))
    line: str | None = Field(None, max_length=200)
    service_team_id: str | None = Field(None, max_length=200)
    assignee_id: str | None = Field(None, max_length=200)
    client_id: str | None = Field(None, max_length=200)
    tag: str | None = Field(None, max_length=200)
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None


class SearchRequest(Strict):
    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    scope: dict[str, Any] = Field(description="The caller's ticket scope as the gateway's MongoDB filter")
    notes: bool = Field(False, description="Match and highlight internal notes too (staff only)")
    limit: int = Field(20, ge=1, le=MAX_HITS)


class Highlight(BaseModel):
    field: Literal["subject", "text", "notes", "people"]
    html: str = Field(description="HTML-escaped text; the matched words wrapped in <mark>…</mark>")


class SearchHit(BaseModel):
    ticket_id: str
    number: int
    score: float
    highlights: list[Highlight] = Field(default_factory=list)


class SearchResponse(BaseModel):
    total: int = Field(description="Tickets in the caller's scope matching the query and filters (by the index)")
    hits: list[SearchHit]
