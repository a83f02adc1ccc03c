"""The knowledge base on the client portal (issue 23): public articles and news, an article's page with "was this
helpful" and "this solved my problem" (counted as a request spared; it closes nothing), and the suggestions shown
while a client types a new request. The gateway asks the knowledge service as this client, so an internal article
never reaches these pages: not in a list, a search, a suggestion or by its id (a 404, as for a missing one)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..gateway import UserApi
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession
from ..views.kb import title
from ..views.search import pieces
from .knowledge import ARTICLES, article_ctx, cast_vote, checked, count_view
from .news import portal_news
from .portal import _client

router = APIRouter()
SUGGESTED = 5
MIN_TEXT = 3  # fewer characters say too little to suggest anything


@router.get("/portal/kb", response_class=HTMLResponse)
async def index(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _client(request, session)
    q = request.query_params.get("q", "").strip()[:500]
    found, recent, popular, news = await asyncio.gather(
        api.get(ARTICLES, params={"q": q, "limit": 20}) if q else _empty(),
        api.get(f"{ARTICLES}/recent", params={"limit": 10}), api.get(f"{ARTICLES}/popular", params={"limit": 10}),
        portal_news(api, lang_of(request, session)))
    return render(request, session, "kb/portal_index.html", q=q, found=found["items"], recent=recent["items"],
                  popular=popular["items"], items=news, title=title, pieces=pieces)


async def _empty() -> dict[str, list[object]]:
    return {"items": []}


@router.get("/portal/kb/{article_id}", response_class=HTMLResponse)
async def article_page(article_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _client(request, session)
    article = await api.get(f"{ARTICLES}/{checked(article_id)}")
    await count_view(api, article_id)
    done = request.query_params.get("done")
    return render(request, session, "kb/portal_article.html", **article_ctx(article, lang_of(request, session)),
                  vote_action=f"/portal/kb/{article_id}/vote", done=done if done in ("vote", "solved") else None)


@router.post("/portal/kb/{article_id}/vote")
async def vote(article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _client(request, session)
    await cast_vote(request, api, article_id)
    return RedirectResponse(f"/portal/kb/{article_id}?done=vote", status_code=303)


@router.post("/portal/kb/{article_id}/solved")
async def solved(article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    """The client says the article solved it: counted (once per client), and no request is opened."""
    _client(request, session)
    await api.post(f"{ARTICLES}/{checked(article_id)}/solved")
    return RedirectResponse(f"/portal/kb/{article_id}?done=solved", status_code=303)


@router.get("/portal/suggestions", response_class=HTMLResponse)
async def suggestions(request: Request, session: CurrentSession, api: UserApi,
                      text: Annotated[str, Query(max_length=2000)] = "") -> HTMLResponse:
    """A partial for the new-request form (app.js asks as the client types); a read, so a GET."""
    _client(request, session)
    text = text.strip()
    found = await api.post("/portal/suggestions", json={"text": text, "limit": SUGGESTED}) \
        if len(text) >= MIN_TEXT else {"items": []}
    return render(request, session, "kb/portal_suggestions.html", items=found["items"], title=title)
