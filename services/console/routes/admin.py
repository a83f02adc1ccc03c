"""Administrators' directories: every directory the gateway lists, as a list and create/edit forms built from its
JSON schema, saved through the gateway's directory API (If-Match versioning, its 422 errors next to their field)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, UserApi
from ..guards import ADMINS, role_guard
from ..i18n import CATALOGUE, t
from ..pages import lang_of, render
from ..session import CsrfForm, Session
from ..views.admin_forms import FormField, errors_by_field, form_fields, form_values, read_form

router = APIRouter(prefix="/admin")
Admin = Annotated[Session, Depends(role_guard(ADMINS, "admin.only"))]
PAGE = 100


def versioned(api: Api, version: str | None) -> Api:
    """The same user's API, sending ``If-Match`` (the entry's version, as the gateway's ETag) when one is given."""
    copy = Api(api.http, "")
    copy.headers = {**api.headers, **({"If-Match": f'"{version}"'} if version else {})}
    return copy


def entry_path(name: str, key: str) -> str:
    return f"/admin/directories/{quote(name, safe='')}/{quote(key, safe='')}"


async def directory(api: Api, name: str) -> dict[str, Any]:
    for d in await api.get("/admin/directories"):
        if d.get("name") == name:
            return dict(d)
    raise ProblemError(404, "Not Found", f"there is no directory {name!r}")


def labeller(lang: str) -> Any:
    def label(f: FormField) -> str:
        return t(f"field.{f.name}", lang) if f"field.{f.name}" in CATALOGUE else f.title
    return label


def dir_title(lang: str) -> Any:
    def title(name: str) -> str:
        return t(f"dir.{name}", lang) if f"dir.{name}" in CATALOGUE else name
    return title


def entry_name(data: dict[str, Any], lang: str) -> str:
    name = data.get("name") or data.get("subject") or ""
    return str(name.get(lang) or next(iter(name.values()), "")) if isinstance(name, dict) else str(name)


@router.get("", response_class=HTMLResponse)
async def index(request: Request, session: Admin, api: UserApi) -> HTMLResponse:
    return render(request, session, "admin/index.html", directories=await api.get("/admin/directories"),
                  dir_title=dir_title(lang_of(request, session)))


@router.get("/directories/{name}", response_class=HTMLResponse)
async def entries(name: str, request: Request, session: Admin, api: UserApi,
                  after: Annotated[str | None, Query(max_length=200)] = None,
                  saved: Annotated[str | None, Query(max_length=200)] = None,
                  deleted: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    d = await directory(api, name)
    page = await api.get(f"/admin/directories/{quote(name, safe='')}",
                         params={"limit": PAGE, **({"cursor": after} if after else {})})
    lang = lang_of(request, session)
    rows = [{**e, "name": entry_name(e.get("data") or {}, lang)} for e in page.get("items", [])]
    notice = (t("admin.saved", lang, entry=saved) if saved
              else t("admin.deleted", lang, entry=deleted) if deleted else None)
    return render(request, session, "admin/list.html", d=d, rows=rows, next_cursor=page.get("next_cursor"),
                  notice=notice, dir_title=dir_title(lang))


def _form(request: Request, session: Session, d: dict[str, Any], values: dict[str, Any], *, key: str | None = None,
          version: str | None = None, errors: dict[str, str] | None = None, banner: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    fields, lang = form_fields(d["json_schema"], d["key"]), lang_of(request, session)
    return render(request, session, "admin/form.html", status_code=status_code, d=d, fields=fields, values=values,
                  key=key, version=version, errors=errors or {}, banner=banner, label=labeller(lang),
                  dir_title=dir_title(lang))


@router.get("/directories/{name}/new", response_class=HTMLResponse)
async def new_entry(name: str, request: Request, session: Admin, api: UserApi) -> HTMLResponse:
    d = await directory(api, name)
    return _form(request, session, d, form_values(form_fields(d["json_schema"], d["key"]), None))


@router.get("/directories/{name}/entries/{key}", response_class=HTMLResponse)
async def edit_entry(name: str, key: str, request: Request, session: Admin, api: UserApi) -> HTMLResponse:
    d = await directory(api, name)
    entry = await api.get(entry_path(name, key))
    values = form_values(form_fields(d["json_schema"], d["key"]), entry.get("data") or {})
    return _form(request, session, d, values, key=key, version=str(entry.get("version", "")))


@router.post("/directories/{name}/new", response_class=HTMLResponse)
async def create(name: str, request: Request, session: CsrfForm, _: Admin, api: UserApi) -> Response:
    return await _save(request, session, api, name, None)


@router.post("/directories/{name}/entries/{key}", response_class=HTMLResponse)
async def save(name: str, key: str, request: Request, session: CsrfForm, _: Admin, api: UserApi) -> Response:
    return await _save(request, session, api, name, key)


async def _save(request: Request, session: Session, api: Api, name: str, key: str | None) -> Response:
    d = await directory(api, name)
    fields = form_fields(d["json_schema"], d["key"])
    form = await request.form()
    version = str(form.get("version") or "") or None if key else None
    body, local = read_form(fields, form)
    if key is not None:
        body[d["key"]] = key  # an entry is edited at its own key; a new key is a new entry
    lang = lang_of(request, session)
    shown = {**form_values(fields, body), **{n: str(form.get(f"f.{n}") or "") for n in local}}
    if local:
        words = {n: t("admin.key_required", lang) if e == "required" else t("admin.not_json", lang, detail=e)
                 for n, e in local.items()}
        return _form(request, session, d, shown, key=key, version=version, errors=words,
                     banner=t("admin.invalid", lang), status_code=422)
    target = key or str(body[d["key"]])
    try:
        await versioned(api, version).put(entry_path(name, target), json=body)
    except GatewayProblem as exc:
        if exc.status == 422:
            placed, rest = errors_by_field(fields, exc.errors)
            banner = "; ".join(rest) if rest else None if placed else exc.detail or exc.title
            return _form(request, session, d, shown, key=key, version=version, errors=placed,
                         banner=t("error.invalid", lang, detail=banner) if banner else t("admin.invalid", lang),
                         status_code=422)
        if exc.status == 409:
            said = t("admin.conflict", lang) if key else t("admin.exists", lang)
            return _form(request, session, d, shown, key=key, version=version, banner=said, status_code=409)
        raise
    return RedirectResponse(f"/admin/directories/{quote(name, safe='')}?saved={quote(target, safe='')}",
                            status_code=303)


@router.post("/directories/{name}/entries/{key}/delete")
async def delete(name: str, key: str, request: Request, session: CsrfForm, _: Admin, api: UserApi) -> Response:
    form = await request.form()
    try:
        await versioned(api, str(form.get("version") or "") or None).delete(entry_path(name, key))
    except GatewayProblem as exc:
        if exc.status == 409:
            lang = lang_of(request, session)
            raise ProblemError(409, "Conflict", t("admin.still_needed", lang, detail=exc.detail or "")) from None
        raise
    return RedirectResponse(f"/admin/directories/{quote(name, safe='')}?deleted={quote(key, safe='')}",
                            status_code=303)
