"""The knowledge base for staff (issue 23): recent and popular articles, search, categories from the service
catalogue, an article's page (rendered body, "was this helpful", versions and numbers for leads and administrators)
and the content-gap report. Everything through the gateway with the user's own token; it decides what he may see."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, GatewayUnauthorized, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..views.kb import LEADS, catalogue_options, in_lang, safe_id, steps, title
from ..views.search import pieces

router = APIRouter()
ARTICLES = "/knowledge/articles"
LIST = 20


async def optional(call: Awaitable[Any]) -> Any:
    """A part the page can do without: None when the gateway will not give it (a 401 still signs the user out)."""
    try:
        return await call
    except GatewayUnauthorized:
        raise
    except GatewayProblem:
        return None


def checked(article_id: str) -> str:
    if not safe_id(article_id):
        raise ProblemError(404, "Not Found", f"no article {article_id!r}")
    return article_id


def staff(request: Request, session: Session) -> Session:
    if not session.staff:
        raise ProblemError(403, "Forbidden", t("kb.staff_only", lang_of(request, session)))
    return session


async def count_view(api: Api, article_id: str) -> None:
    """The reader's view (the knowledge service counts a person once a day); the page never fails for it."""
    await optional(api.post(f"{ARTICLES}/{article_id}/views"))


async def cast_vote(request: Request, api: Api, article_id: str) -> None:
    form = await request.form()
    helpful = form.get("helpful")
    if helpful not in ("yes", "no"):
        raise ProblemError(422, "Unprocessable Content", "helpful is yes or no")
    await api.put(f"{ARTICLES}/{checked(article_id)}/vote", json={"helpful": helpful == "yes"})


def article_ctx(article: dict[str, Any], lang: str) -> dict[str, Any]:
    """The article's rendered variant in the user's language (else the other one), for its page."""
    shown = in_lang(article.get("rendered"), lang) or {}
    return {"article": article, "shown_title": shown.get("title") or article.get("id"),
            "shown_html": shown.get("html") or ""}


@router.get("/kb", response_class=HTMLResponse)
async def index(request: Request, session: CurrentSession, api: UserApi) -> Response:
    if session.role == "client":
        return RedirectResponse("/portal/kb", status_code=303)
    staff(request, session)
    q, category, tag = (request.query_params.get(k, "").strip()[:500] or None for k in ("q", "category", "tag"))
    searching = bool(q or category or tag)
    found, recent, popular, tree = await asyncio.gather(
        api.get(ARTICLES, params={k: v for k, v in {"q": q, "category": category, "tag": tag, "limit": LIST}.items()
                                  if v}) if searching else _empty(),
        api.get(f"{ARTICLES}/recent", params={"limit": 10}), api.get(f"{ARTICLES}/popular", params={"limit": 10}),
        optional(api.get("/portal/catalogue")))
    lang = lang_of(request, session)
    return render(request, session, "kb/index.html", q=q or "", category=category, tag=tag, searching=searching,
                  found=found["items"], recent=recent["items"], popular=popular["items"],
                  categories=catalogue_options(tree, lang), title=title, pieces=pieces)


async def _empty() -> dict[str, Any]:
    return {"items": []}


@router.get("/kb/articles/{article_id}", response_class=HTMLResponse)
async def article_page(article_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    staff(request, session)
    path = f"{ARTICLES}/{checked(article_id)}"
    article = await api.get(path)
    lead = session.role in LEADS
    _, versions, stats = await asyncio.gather(
        count_view(api, article_id), optional(api.get(f"{path}/versions")) if lead else _empty(),
        optional(api.get(f"{path}/stats")) if lead else _none())
    done = request.query_params.get("done")
    return render(request, session, "kb/article.html", **article_ctx(article, lang_of(request, session)),
                  versions=(versions or {}).get("items", []), stats=stats,
                  steps=steps(str(article.get("status")), session.role),
                  done=done if done in ("saved", "vote", "submit", "publish", "reject", "archive", "restore") else None)


async def _none() -> None:
    return None


@router.post("/kb/articles/{article_id}/vote")
async def vote(article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    staff(request, session)
    await cast_vote(request, api, article_id)
    return RedirectResponse(f"/kb/articles/{article_id}?done=vote", status_code=303)


@router.get("/kb/gaps", response_class=HTMLResponse)
async def gaps(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    if session.role not in LEADS:
        raise ProblemError(403, "Forbidden", t("kb.leads_only", lang_of(request, session)))
    report = await api.get("/knowledge/gaps", params={"limit": 100})
    return render(request, session, "kb/gaps.html", gaps=report["items"])
