"""Full-text search over the tickets a person may open: ``GET /api/v1/search`` (the search service's index).

The search service filters by the caller's scope (the filter ``ticket_scope`` builds, sent with the query); each
hit is then read back from the ledger's collection and kept only if ``visible`` (the same rule) still lets the
caller open it, so a stale index or a bug in it shows nobody a ticket. The hits are read by ``_id`` one by one
rather than with one ``$in``: the embedded database scans the collection for ``$in`` (docs/embedded-database.md).
Clients never have notes matched or highlighted.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shared.contracts.schemas.common import TicketStatus
from shared.contracts.search_api import MAX_HITS, MAX_QUERY_CHARS, Highlight, SearchFilters, SearchRequest
from shared.runtime.problems import problem_responses

from ..access.principal import STAFF
from ..access.scope import NOTHING, ticket_scope, visible
from ..clients.search import SearchApi
from .deps import Ctx, CurrentPrincipal

Id = Annotated[str | None, Query(max_length=200)]


class SearchItem(BaseModel):
    id: str
    number: int
    subject: str | None = None
    status: str
    client_name: str | None = None
    updated_at: datetime
    score: float
    highlights: list[Highlight] = Field(description="Fragments, HTML-escaped, the matched words in <mark>…</mark>")


class SearchPage(BaseModel):
    total: int = Field(description="Matches in your scope by the index (the items are checked again, one by one)")
    items: list[SearchItem]


def _item(doc: dict[str, Any], score: float, highlights: list[Highlight]) -> SearchItem:
    return SearchItem(id=doc["_id"], number=doc["number"], subject=doc.get("subject"), status=doc["status"],
                      client_name=(doc.get("client") or {}).get("client_name"), updated_at=doc["updated_at"],
                      score=score, highlights=highlights)


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["search"])

    @r.get("/search", response_model=SearchPage, responses=problem_responses(401, 422, 502, 503),
           summary="Tickets in your scope matching the words: ranked, with highlighted fragments")
    async def search(
        request: Request, p: CurrentPrincipal, ctx: Ctx,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS,
                                description="Words (Russian and English stems, one typo in long words); numbers, "
                                            "e-mails and phones also by their start")],
        status: Annotated[list[TicketStatus] | None, Query(max_length=len(TicketStatus))] = None,
        line: Id = None, service_team_id: Id = None, assignee_id: Id = None, client_id: Id = None, tag: Id = None,
        created_from: datetime | None = None, created_to: datetime | None = None,
        updated_from: datetime | None = None, updated_to: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = 20,
    ) -> SearchPage:
        scope = ticket_scope(p)
        if scope == NOTHING:
            return SearchPage(total=0, items=[])
        staff = p.role in STAFF
        filters = SearchFilters(status=status or [], line=line, service_team_id=service_team_id,
                                assignee_id=assignee_id, client_id=client_id, tag=tag, created_from=created_from,
                                created_to=created_to, updated_from=updated_from, updated_to=updated_to)
        api: SearchApi = request.app.state.search
        found = await api.search(SearchRequest(q=q, filters=filters, scope=scope, notes=staff, limit=limit))
        docs = await asyncio.gather(*(ctx.reads.ticket(hit.ticket_id) for hit in found.hits))
        items = [_item(doc, hit.score, [h for h in hit.highlights if staff or h.field != "notes"])
                 for hit, doc in zip(found.hits, docs, strict=True) if doc is not None and visible(p, doc)]
        return SearchPage(total=found.total, items=items)

    return r
