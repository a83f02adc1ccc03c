"""News through the gateway: everyone reads what his audience sees now; administrators write (the knowledge
service's data, asked with the caller's viewer as ``api/knowledge.py`` does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shared.contracts import knowledge_api as k

from ..deps import Ctx, CurrentPrincipal, require
from .articles import READ, WRITE, WRITERS, Id, Limit, api, viewer


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])

    @r.get("/news", response_model=k.NewsPage, responses=READ,
           summary="News for your audience between its dates, newest first (leads, admins: scheduled=true for all)")
    async def news(request: Request, p: CurrentPrincipal, ctx: Ctx, limit: Limit = 20,
                   scheduled: Annotated[bool, Query()] = False) -> k.NewsPage:
        return await api(request).call(k.NewsPage, "GET", "/news", await viewer(ctx, p),
                                       params={"limit": limit, "scheduled": scheduled})

    @r.post("/news", response_model=k.NewsOut, status_code=201, responses=WRITE,
            summary="Administrators: a news item with its publish window and audience")
    async def create(body: k.NewsIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.NewsOut:
        require(p, WRITERS, "writing news")
        return await api(request).call(k.NewsOut, "POST", "/news", await viewer(ctx, p),
                                       body=k.NewsWrite(news=body, actor=p.user_id))

    @r.put("/news/{news_id}", response_model=k.NewsOut, responses=WRITE,
           summary="Administrators: change a news item (unpublish by setting unpublish_at)")
    async def edit(news_id: Id, body: k.NewsIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.NewsOut:
        require(p, WRITERS, "writing news")
        return await api(request).call(k.NewsOut, "PUT", f"/news/{news_id}", await viewer(ctx, p),
                                       body=k.NewsWrite(news=body, actor=p.user_id))

    return r
