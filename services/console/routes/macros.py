"""Macros (issue 22): apply one on the ticket page (one POST, the outcome of each step in words) and "My macros",
where staff keep their personal macros and administrators the shared ones (the gateway decides who writes what)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, GatewayUnavailable, UserApi, problem_of, shown
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..views.macro_forms import TEXT_FIELDS, applied_query, macro_body, macro_errors, macro_values
from ..views.ticket import refusal, safe_id
from .ticket import _checked, _page

router = APIRouter()


def _staff(session: Session, macro_id: str | None = None) -> None:
    if not session.staff:
        raise ProblemError(403, "Forbidden", "macros are for staff")
    if macro_id is not None and not safe_id(macro_id):
        raise ProblemError(404, "Not Found", f"no macro {macro_id}")


@router.post("/tickets/{ticket_id}/macro")
async def apply(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    macro_id = (await request.form()).get("macro_id")
    if not isinstance(macro_id, str) or not safe_id(macro_id):
        raise ProblemError(404, "Not Found", "no such macro")
    try:
        result = await api.post(f"/tickets/{ticket_id}/macros/{macro_id}/apply", json={})
    except GatewayProblem as exc:
        if not shown(exc):
            raise
        words = t("macros.stopped", lang_of(request, session), detail=refusal(exc, lang_of(request, session)))
        return await _page(request, session, api, ticket_id, exc.status, banner=words, open_form="macro")
    return RedirectResponse(f"/tickets/{ticket_id}?applied={quote(applied_query(result), safe=',.')}",
                            status_code=303)


@router.get("/macros", response_class=HTMLResponse)
async def mine(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _staff(session)
    found = await api.get("/macros")
    done = request.query_params.get("done")
    return render(request, session, "macros/list.html", macros=found if isinstance(found, list) else [],
                  done=done if done in ("saved", "deleted") else None)


def _form(request: Request, session: Session, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    return render(request, session, "macros/form.html", status_code=status_code, admin=session.role == "administrator",
                  **{"macro": None, "values": {}, "errors": {}, **ctx})


@router.get("/macros/new", response_class=HTMLResponse)
async def new(request: Request, session: CurrentSession) -> HTMLResponse:
    _staff(session)
    return _form(request, session)


@router.get("/macros/{macro_id}", response_class=HTMLResponse)
async def edit(macro_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _staff(session, macro_id)
    macro = await api.get(f"/macros/{macro_id}")
    return _form(request, session, macro=macro, values=macro_values(macro))


async def _put(api: Api, path: str, body: dict[str, Any], version: str) -> None:
    """A change names the version the form was read at (If-Match): a macro changed meanwhile is a 409 in words."""
    try:
        resp = await api.http.request("PUT", path, json=body, headers={**api.headers, "If-Match": f'"{version}"'})
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(503, "The desk is not answering", type(exc).__name__) from exc
    if resp.status_code >= 300:
        raise problem_of(resp)


async def _save(request: Request, session: Session, api: Api, macro: dict[str, Any] | None) -> Response:
    form = await request.form()
    values = {k: v for k in (*TEXT_FIELDS, "scope", "hold") if isinstance(v := form.get(k), str)}
    body, errors = macro_body(form, session.role == "administrator")
    try:
        if errors or body is None:
            raise GatewayProblem(422, "Unprocessable Content")
        if macro is None:
            await api.post("/macros", json=body)
        else:
            body["scope"] = macro.get("scope", body["scope"])
            await _put(api, f"/macros/{macro['id']}", body, str(form.get("version") or macro.get("version")))
    except GatewayProblem as exc:
        if not shown(exc):
            raise
        lang = lang_of(request, session)
        errors = errors or macro_errors(exc)
        words = t("macros.check", lang) if exc.status == 422 else refusal(exc, lang)
        return _form(request, session, exc.status, macro=macro, values=values, errors=errors, banner=words)
    return RedirectResponse("/macros?done=saved", status_code=303)


@router.post("/macros")
async def create(request: Request, session: CsrfForm, api: UserApi) -> Response:
    _staff(session)
    return await _save(request, session, api, None)


@router.post("/macros/{macro_id}")
async def update(macro_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _staff(session, macro_id)
    return await _save(request, session, api, await api.get(f"/macros/{macro_id}"))


@router.post("/macros/{macro_id}/delete")
async def delete(macro_id: str, session: CsrfForm, api: UserApi) -> Response:
    _staff(session, macro_id)
    await api.delete(f"/macros/{macro_id}")
    return RedirectResponse("/macros?done=deleted", status_code=303)
