"""The ticket page: thread, client card, SLA, history, its live part, file downloads, and every action as a POST.

An action done goes back to the page (303, ``?done=<action>``); refused, the page comes back with the gateway's
refusal in words and the form as it was sent, each field's error beside it. A form sent by app.js (``data-fetch``,
the queue's claim button) gets 204, or the refusal as a ``role=alert`` fragment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from shared.runtime.problems import ProblemError

from ..gateway import Api, GatewayProblem, UserApi, optional, shown
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession, Session
from ..uploads import chosen_files, upload
from ..views.classification import classify_form, node_options, urgency_choices
from ..views.ticket import actions, event_label, refusal, safe_id, sla_rows, thread
from ..views.ticket_forms import ACTIONS, TICKET_TYPES, WITH_FILES, build
from ..views.tools_ctx import tools_ctx

router = APIRouter()
DOWNLOAD_HEADERS = ("content-type", "content-length", "content-disposition")


def _checked(ticket_id: str, session: Session) -> str:
    if not session.staff:
        raise ProblemError(403, "Forbidden", "the ticket workspace is for staff")
    if not safe_id(ticket_id):
        raise ProblemError(404, "Not Found", f"no ticket {ticket_id}")
    return ticket_id


def _live_ctx(request: Request, session: Session, ticket: dict[str, Any]) -> dict[str, Any]:
    lang = lang_of(request, session)
    history = ticket.get("history") or []
    return {"ticket": ticket, "acts": actions(ticket, session.user_id, session.role),
            "items": thread(str(ticket["id"]), history), "sla": sla_rows(ticket.get("sla")),
            "history": history, "label": lambda kind: event_label(kind, lang)}


def _choices(tree: Any, ticket: dict[str, Any], lang: str) -> dict[str, Any]:
    """What the reclassify form offers: the tree's nodes (the ticket's own among them), urgencies and ticket types.
    Without the tree (the desk could not give it) the form falls back to typed topics."""
    return {"nodes": node_options(tree, ticket.get("classification"), lang, lambda k: t(f"ticket.type.{k}", lang)),
            "urgencies": urgency_choices(tree, ticket.get("urgency")), "ticket_types": TICKET_TYPES}


async def _page(request: Request, session: Session, api: Api, ticket_id: str, status_code: int = 200,
                **extra: Any) -> HTMLResponse:
    ticket, card, tree, fields, macros = await asyncio.gather(
        api.get(f"/tickets/{ticket_id}", params={"history": "true"}),
        optional(api.get(f"/tickets/{ticket_id}/client")), optional(api.get("/classification")),
        optional(api.get("/custom-fields")), optional(api.get("/macros")))
    done = request.query_params.get("done")
    pending = request.query_params.get("pending")
    return render(request, session, "ticket/page.html", status_code=status_code, card=card,
                  choices=_choices(tree, ticket, lang_of(request, session)), done=done if done in ACTIONS else None,
                  pending=pending if pending in ACTIONS else None, **_live_ctx(request, session, ticket),
                  **tools_ctx(ticket, card, fields, macros, lang_of(request, session), request.query_params),
                  **{"errors": {}, "values": {}, "open_form": None, **extra})


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(ticket_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    return await _page(request, session, api, _checked(ticket_id, session))


@router.get("/tickets/{ticket_id}/live", response_class=HTMLResponse)
async def ticket_live(ticket_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    ticket = await api.get(f"/tickets/{_checked(ticket_id, session)}", params={"history": "true"})
    return render(request, session, "ticket/live.html", **_live_ctx(request, session, ticket))


@router.get("/tickets/{ticket_id}/attachments/{file_id}")
async def download(ticket_id: str, file_id: str, session: CurrentSession, api: UserApi) -> StreamingResponse:
    """The gateway's download passed through as it is: always an attachment, never sniffed, never run."""
    if not safe_id(file_id):
        raise ProblemError(404, "Not Found", f"no file {file_id}")
    upstream = await api.raw("GET", f"/tickets/{_checked(ticket_id, session)}/attachments/{file_id}")
    headers = {k: upstream.headers[k] for k in DOWNLOAD_HEADERS if k in upstream.headers}
    headers.setdefault("content-disposition", "attachment")
    headers |= {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
                "Cache-Control": "private, no-store"}
    return StreamingResponse(upstream.aiter_raw(), headers=headers, background=BackgroundTask(upstream.aclose))


@router.post("/tickets/{ticket_id}/{action}")
async def act(ticket_id: str, action: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    if action not in ACTIONS:
        raise ProblemError(404, "Not Found", f"no action {action!r}")
    form = await request.form()
    fetch = request.headers.get("x-requested-with") == "fetch"
    body, errors = build(action, classify_form(form) if action == "classify" else form)
    if not errors and action in WITH_FILES and (files := chosen_files(form.getlist("files"))):
        ids, errors = await upload(api, f"/tickets/{ticket_id}/attachments", files)
        body = {**(body or {}), "attachment_ids": ids}
    try:
        if errors:
            raise GatewayProblem(422, "Unprocessable Content")
        result = await api.post(f"/tickets/{ticket_id}/{ACTIONS[action][0]}", json=body)
    except GatewayProblem as exc:
        if not shown(exc):
            raise
        lang = lang_of(request, session)
        words = t("ticket.form.check", lang) if errors else refusal(exc, lang)
        if fetch:
            return render(request, session, "ticket/refusal.html", status_code=exc.status, message=words)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return await _page(request, session, api, ticket_id, exc.status, banner=words, open_form=action,
                           errors={**exc.field_errors(), **errors}, values=values)
    if fetch:
        return Response(status_code=204)
    state = "pending" if isinstance(result, dict) and result.get("status") == "pending" else "done"
    return RedirectResponse(f"/tickets/{ticket_id}?{state}={action}", status_code=303)
