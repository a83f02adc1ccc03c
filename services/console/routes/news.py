"""News (issue 23): the workspace's list (what staff see now; administrators also what is scheduled or over, with
the editor) and the news a client sees on the portal's home. The knowledge service decides who sees which item
between its dates; the console only asks with the user's own token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..views.kb import AUDIENCES, field_errors, in_lang, news_body, news_fields, safe_id
from .knowledge import optional, staff

router = APIRouter()
NEWS = "/knowledge/news"


def shown(items: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Each item with its rendered variant in ``lang`` (else the other): ``title`` and the sanitised ``html``."""
    return [{**n, "shown": in_lang(n.get("rendered"), lang) or {"title": n.get("id"), "html": ""}} for n in items]


async def portal_news(api: Api, lang: str) -> list[dict[str, Any]]:
    """The news a client sees now, for the portal's home (empty when the knowledge base does not answer)."""
    found = await optional(api.get(NEWS, params={"limit": 5}))
    return shown((found or {}).get("items", []), lang)


def _admin(request: Request, session: Session) -> Session:
    if session.role != "administrator":
        raise ProblemError(403, "Forbidden", t("kb.admins_only", lang_of(request, session)))
    return session


@router.get("/news", response_class=HTMLResponse)
async def news_page(request: Request, session: CurrentSession, api: UserApi) -> Response:
    if session.role == "client":
        return RedirectResponse("/portal", status_code=303)
    staff(request, session)
    admin = session.role == "administrator"
    found = await api.get(NEWS, params={"limit": 100, "scheduled": "true" if admin else "false"})
    done = request.query_params.get("done")
    return render(request, session, "news/list.html", items=shown(found["items"], lang_of(request, session)),
                  done=done == "saved")


async def _form(request: Request, session: Session, news_id: str | None, status_code: int = 200,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                banner: str | None = None) -> HTMLResponse:
    return render(request, session, "news/edit.html", status_code, news_id=news_id, values=values or {},
                  errors=errors or {}, banner=banner, audiences=AUDIENCES)


async def _save(request: Request, session: Session, api: Api, news_id: str | None) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    body, errors = news_body(values)
    if errors:
        return await _form(request, session, news_id, 422, values, errors)
    try:
        if news_id is None:
            await api.post(NEWS, json=body)
        else:
            await api.put(f"{NEWS}/{news_id}", json=body)
    except GatewayProblem as exc:
        if exc.status not in (409, 422):
            raise
        found = field_errors(exc.errors)
        return await _form(request, session, news_id, exc.status, values, found,
                           None if found else exc.detail or exc.title)
    return RedirectResponse("/news?done=saved", status_code=303)


@router.get("/news/new", response_class=HTMLResponse)
async def new_page(request: Request, session: CurrentSession) -> HTMLResponse:
    _admin(request, session)
    return await _form(request, session, None, values={"audience": "both"})


@router.post("/news/new")
async def create(request: Request, session: CsrfForm, api: UserApi) -> Response:
    _admin(request, session)
    return await _save(request, session, api, None)


@router.get("/news/{news_id}/edit", response_class=HTMLResponse)
async def edit_page(news_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _admin(request, session)
    found = await api.get(NEWS, params={"limit": 100, "scheduled": "true"})
    item = next((n for n in found["items"] if n.get("id") == news_id), None) if safe_id(news_id) else None
    if item is None:
        raise ProblemError(404, "Not Found", f"no news item {news_id!r}")
    return await _form(request, session, news_id, values=news_fields(item))


@router.post("/news/{news_id}/edit")
async def edit(news_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _admin(request, session)
    if not safe_id(news_id):
        raise ProblemError(404, "Not Found", f"no news item {news_id!r}")
    return await _save(request, session, api, news_id)
