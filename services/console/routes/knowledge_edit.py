"""The article editor (administrators write; a save is a new version) and the workflow buttons (submit and
restore: administrators; publish, reject and archive: leads and administrators). A refusal comes back as the form
with each error next to its field, or the gateway's words in a banner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import GatewayProblem, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..views.kb import LEADS, VISIBILITIES, article_body, article_fields, catalogue_options, field_errors
from .knowledge import ARTICLES, checked, optional

router = APIRouter()
STEPS = ("submit", "reject", "publish", "archive", "restore")


def _admin(request: Request, session: Session) -> Session:
    if session.role != "administrator":
        raise ProblemError(403, "Forbidden", t("kb.admins_only", lang_of(request, session)))
    return session


async def _form(request: Request, session: Session, api: UserApi, article_id: str | None, status_code: int = 200,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                banner: str | None = None) -> HTMLResponse:
    tree = await optional(api.get("/portal/catalogue"))
    return render(request, session, "kb/edit.html", status_code, article_id=article_id, values=values or {},
                  errors=errors or {}, banner=banner, visibilities=VISIBILITIES,
                  categories=catalogue_options(tree, lang_of(request, session)))


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


async def _save(request: Request, session: Session, api: UserApi, article_id: str | None) -> Response:
    values = await _fields(request)
    body, errors = article_body(values)
    if errors:
        return await _form(request, session, api, article_id, 422, values, errors)
    try:
        if article_id is None:
            saved: dict[str, Any] = await api.post(ARTICLES, json=body)
        else:
            saved = await api.put(f"{ARTICLES}/{article_id}", json=body)
    except GatewayProblem as exc:
        if exc.status not in (409, 422):
            raise
        found = field_errors(exc.errors)
        return await _form(request, session, api, article_id, exc.status, values, found,
                           None if found else exc.detail or exc.title)
    return RedirectResponse(f"/kb/articles/{saved['id']}?done=saved", status_code=303)


@router.get("/kb/new", response_class=HTMLResponse)
async def new_page(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _admin(request, session)
    return await _form(request, session, api, None, values={"visibility": "internal"})


@router.post("/kb/new")
async def create(request: Request, session: CsrfForm, api: UserApi) -> Response:
    _admin(request, session)
    return await _save(request, session, api, None)


@router.get("/kb/articles/{article_id}/edit", response_class=HTMLResponse)
async def edit_page(article_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _admin(request, session)
    article = await api.get(f"{ARTICLES}/{checked(article_id)}")
    return await _form(request, session, api, article_id, values=article_fields(article))


@router.post("/kb/articles/{article_id}/edit")
async def edit(article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _admin(request, session)
    return await _save(request, session, api, checked(article_id))


@router.post("/kb/articles/{article_id}/workflow")
async def move(article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    if session.role not in LEADS:
        raise ProblemError(403, "Forbidden", t("kb.leads_only", lang_of(request, session)))
    action = (await request.form()).get("action")
    if action not in STEPS:
        raise ProblemError(422, "Unprocessable Content", "action is one of " + ", ".join(STEPS))
    await api.post(f"{ARTICLES}/{checked(article_id)}/workflow", json={"action": action})
    return RedirectResponse(f"/kb/articles/{article_id}?done={action}", status_code=303)
