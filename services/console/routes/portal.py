"""The client portal: the organisation's requests, a new request with files, a request's conversation, writing into
it, its files and its satisfaction survey. Everything through the gateway with the client's own token: the gateway
scopes what he sees (his organisation's tickets, never internal notes)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..uploads import MAX_FILES, chosen_files, upload
from ..views.kb import catalogue_options, chosen_service
from ..views.portal import conversation, may_write, requests, short_date, survey
from ..views.ticket import safe_id
from .knowledge import optional
from .news import portal_news

router = APIRouter()
LIST_LIMIT = 100
PASSED_HEADERS = ("content-type", "content-disposition", "content-length")


def _client(request: Request, session: Session) -> Session:
    if session.role != "client":
        raise ProblemError(403, "Forbidden", t("portal.staff_only", lang_of(request, session)))
    return session


def _ticket_id(ticket_id: str) -> str:
    if not safe_id(ticket_id):
        raise ProblemError(404, "Not Found", f"no request {ticket_id!r}")
    return ticket_id


def _keyed(session: Session, api: Api, key: str) -> Api:
    """The client's API with an Idempotency-Key, so a form sent twice opens or writes once."""
    keyed = Api(api.http, session.token)
    keyed.headers["Idempotency-Key"] = f"console:{key}"[:200]
    return keyed


async def _form(request: Request) -> tuple[dict[str, str], list[UploadFile]]:
    form = await request.form()
    fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    return fields, chosen_files(form.getlist("files"))


def _required(fields: dict[str, str], *names: str) -> dict[str, str]:
    return {n: "portal.field.required" for n in names if not fields.get(n)}


@router.get("/portal", response_class=HTMLResponse)
async def index(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _client(request, session)
    open_rows, finished = requests(await api.get("/tickets", params={"limit": LIST_LIMIT}))
    return render(request, session, "portal/index.html", open_rows=open_rows, finished=finished,
                  short_date=short_date, items=await portal_news(api, lang_of(request, session)))


async def _services(request: Request, session: Session, api: Api) -> list[tuple[str, str]]:
    """The service catalogue to choose from (none offered when the desk has none or will not say)."""
    return catalogue_options(await optional(api.get("/portal/catalogue")), lang_of(request, session))


@router.get("/portal/new", response_class=HTMLResponse)
async def new_page(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _client(request, session)
    return render(request, session, "portal/new.html", fields={}, errors={}, key=secrets.token_urlsafe(16),
                  max_files=MAX_FILES, services=await _services(request, session, api))


@router.post("/portal/new", response_class=HTMLResponse)
async def open_request(request: Request, session: CsrfForm, api: UserApi) -> Response:
    _client(request, session)
    fields, files = await _form(request)
    key = fields.get("key") or secrets.token_urlsafe(16)
    errors = _required(fields, "subject", "text")
    ids: list[str] = []
    if not errors:
        ids, errors = await upload(api, "/portal/attachments", files, "portal.files.too_many")
    if not errors:
        body = {"subject": fields["subject"], "text": fields["text"], "attachment_ids": ids,
                **chosen_service(fields.get("service"))}
        try:
            done = await _keyed(session, api, key).post("/portal/tickets", json=body)
        except GatewayProblem as exc:
            if exc.status != 422:
                raise
            errors = exc.field_errors() or {"text": exc.detail or exc.title}
        else:
            pending = "?pending=1" if done.get("status") == "pending" else ""
            return RedirectResponse(f"/portal/tickets/{done.get('ticket_id') or done['id']}{pending}", 303)
    return render(request, session, "portal/new.html", 422, fields=fields, errors=errors, key=key,
                  max_files=MAX_FILES, services=await _services(request, session, api))


async def _ticket_page(request: Request, session: Session, api: Api, ticket_id: str, status_code: int = 200,
                       **ctx: Any) -> HTMLResponse:
    try:
        ticket = await api.get(f"/tickets/{ticket_id}", params={"history": "true"})
    except GatewayProblem as exc:
        if exc.status == 404 and request.query_params.get("pending"):  # the ledger has not recorded it yet
            return render(request, session, "portal/pending.html", ticket_id=ticket_id)
        raise
    return render(request, session, "portal/ticket.html", status_code, ticket=ticket,
                  entries=conversation(ticket_id, ticket.get("history")), survey=survey(ticket.get("survey")),
                  may_write=may_write(str(ticket.get("status"))), short_date=short_date, max_files=MAX_FILES,
                  fields=ctx.pop("fields", {}), errors=ctx.pop("errors", {}),
                  key=ctx.pop("key", secrets.token_urlsafe(16)), **ctx)


@router.get("/portal/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(ticket_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _client(request, session)
    return await _ticket_page(request, session, api, _ticket_id(ticket_id),
                              sent=bool(request.query_params.get("sent")))


@router.post("/portal/tickets/{ticket_id}/messages", response_class=HTMLResponse)
async def write(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _client(request, session)
    _ticket_id(ticket_id)
    fields, files = await _form(request)
    key = fields.get("key") or secrets.token_urlsafe(16)
    errors = _required(fields, "text")
    ids: list[str] = []
    if not errors:
        ids, errors = await upload(api, f"/tickets/{ticket_id}/attachments", files, "portal.files.too_many")
    if not errors:
        try:
            await _keyed(session, api, key).post(f"/portal/tickets/{ticket_id}/messages",
                                                 json={"text": fields["text"], "attachment_ids": ids})
        except GatewayProblem as exc:
            if exc.status != 422:
                raise
            errors = exc.field_errors() or {"text": exc.detail or exc.title}
        else:
            return RedirectResponse(f"/portal/tickets/{ticket_id}?sent=1", 303)
    return await _ticket_page(request, session, api, ticket_id, 422, fields=fields, errors=errors, key=key)


@router.get("/portal/tickets/{ticket_id}/attachments/{file_id}")
async def download(ticket_id: str, file_id: str, request: Request, session: CurrentSession,
                   api: UserApi) -> StreamingResponse:
    """The gateway's download passed through as it is: always an attachment, nosniff, sandboxed."""
    _client(request, session)
    if not safe_id(file_id):
        raise ProblemError(404, "Not Found", f"no file {file_id!r}")
    upstream = await api.raw("GET", f"/tickets/{_ticket_id(ticket_id)}/attachments/{file_id}")
    headers = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_HEADERS}
    headers.update({"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})
    return StreamingResponse(upstream.aiter_bytes(), headers=headers, background=BackgroundTask(upstream.aclose))
