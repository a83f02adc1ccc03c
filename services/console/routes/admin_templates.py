"""Notification templates for administrators: the list, each template's preview as it is sent now, and its
override per language (the ``templates`` directory) edited with a preview of the unsaved draft."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, UserApi
from ..i18n import LANGUAGES, t
from ..pages import lang_of, render
from ..session import CsrfForm, Session
from .admin import Admin, versioned

router = APIRouter(prefix="/admin/templates")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # the gateway's template names
FIELDS = ("subject", "text", "html")


def _checked(name: str, lang: str) -> str:
    if not NAME.match(name) or lang not in LANGUAGES:
        raise ProblemError(404, "Not Found", f"there is no template {name!r} in {lang!r}")
    return f"/admin/directories/templates/{lang}.{name}"


async def _override(api: Api, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await api.get(path)
        return found
    except GatewayProblem as exc:
        if exc.status == 404:
            return None
        raise


@router.get("", response_class=HTMLResponse)
async def templates(request: Request, session: Admin, api: UserApi) -> HTMLResponse:
    return render(request, session, "admin/templates.html", listing=await api.get("/templates"))


@router.get("/{name}/{lang}", response_class=HTMLResponse)
async def template(name: str, lang: str, request: Request, session: Admin, api: UserApi) -> HTMLResponse:
    entry = await _override(api, _checked(name, lang))
    data = (entry or {}).get("data") or {}
    values = {f: str(data.get(f) or "") for f in FIELDS}
    version = str(entry["version"]) if entry else None
    return await _page(request, session, api, name, lang, values, version)


async def _page(request: Request, session: Session, api: Api, name: str, lang: str, values: dict[str, str],
                version: str | None, *, draft: bool = False, errors: dict[str, str] | None = None,
                banner: str | None = None, status_code: int = 200) -> HTMLResponse:
    body = {"language": lang, **({"draft": {f: values[f] or None for f in FIELDS}} if draft else {})}
    try:
        preview = await (api.post(f"/templates/{name}/preview", json=body) if draft
                         else api.get(f"/templates/{name}/preview", params={"language": lang}))
    except GatewayProblem as exc:
        if exc.status != 422:
            raise
        preview, status_code = None, 422
        errors = {**(errors or {}), **_by_field(exc)}
        banner = banner or (None if errors else t("error.invalid", lang_of(request, session), detail=exc.detail))
    return render(request, session, "admin/template.html", status_code=status_code, name=name, tlang=lang,
                  values=values, version=version, preview=preview, draft=draft, errors=errors or {}, banner=banner)


def _by_field(exc: GatewayProblem) -> dict[str, str]:
    """A draft's or an override's errors under subject, text or html (their ``loc`` ends in the field's name)."""
    out: dict[str, str] = {}
    for e in exc.errors:
        names = [str(p) for p in e.get("loc", []) if str(p) in FIELDS]
        if names:
            out.setdefault(names[-1], str(e.get("msg", "")))
    return out


@router.post("/{name}/{lang}", response_class=HTMLResponse)
async def save(name: str, lang: str, request: Request, session: CsrfForm, _: Admin, api: UserApi) -> Response:
    path = _checked(name, lang)
    form = await request.form()
    values = {f: str(form.get(f) or "") for f in FIELDS}
    version = str(form.get("version") or "") or None
    if form.get("action") == "preview":
        return await _page(request, session, api, name, lang, values, version, draft=True)
    entry = {"id": f"{lang}.{name}", **{f: values[f] or None for f in FIELDS}}
    try:
        await versioned(api, version).put(path, json=entry)
    except GatewayProblem as exc:
        words = lang_of(request, session)
        if exc.status == 422:
            return await _page(request, session, api, name, lang, values, version, draft=True, errors=_by_field(exc),
                               banner=t("admin.invalid", words), status_code=422)
        if exc.status == 409:
            return await _page(request, session, api, name, lang, values, version, draft=True,
                               banner=t("admin.conflict", words), status_code=409)
        raise
    return RedirectResponse(f"/admin/templates/{quote(name)}/{lang}?saved=1", status_code=303)
