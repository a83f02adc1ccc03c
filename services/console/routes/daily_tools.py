"""The ticket page's daily tools (issue 22): tags, custom fields, merge and split, each one POST with this session's
CSRF token. Done, the page comes back (303, ``?tool=<name>``); refused, the page shows the refusal in words and
each field's error next to it (the ledger's custom-field refusals split per field)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..gateway import Api, GatewayProblem, UserApi, optional, shown
from ..guards import LEADS
from ..i18n import t
from ..pages import lang_of
from ..session import CsrfForm, Session
from ..views.tools import (
    field_errors,
    merge_body,
    merge_target,
    parse_fields,
    split_body,
    tags_body,
    ticket_number,
    tools_refusal,
)
from ..views.tools_ctx import known_numbers
from .ticket import _checked, _page

router = APIRouter()


async def _send(request: Request, session: Session, api: Api, ticket_id: str, tool: str, path: str,
                body: dict[str, Any] | None, errors: dict[str, str], field_ids: list[str] | None = None) -> Response:
    form = await request.form()
    try:
        if errors or body is None:
            raise GatewayProblem(422, "Unprocessable Content")
        await api.post(f"/tickets/{ticket_id}/{path}", json=body)
    except GatewayProblem as exc:
        if not shown(exc):
            raise
        lang = lang_of(request, session)
        if errors:
            words = t("tools.form.check", lang)
        elif field_ids is not None and exc.status == 422 and not exc.errors:
            errors = field_errors(exc.detail, field_ids)  # the ledger's words, each next to its field
            words = t("tools.fields.refused", lang)
        else:
            errors, words = exc.field_errors(), tools_refusal(exc, lang)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return await _page(request, session, api, ticket_id, exc.status, banner=words, open_form=tool,
                           errors=errors, values=values)
    return RedirectResponse(f"/tickets/{ticket_id}?tool={tool}", status_code=303)


@router.post("/tickets/{ticket_id}/tags")
async def change_tags(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    body, errors = tags_body(await request.form())
    return await _send(request, session, api, ticket_id, "tags", "tags", body, errors)


@router.post("/tickets/{ticket_id}/fields")
async def set_fields(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    ticket, definitions = await api.get(f"/tickets/{ticket_id}"), await optional(api.get("/custom-fields"))
    body, errors = parse_fields(await request.form(), definitions, ticket.get("custom_fields") or {},
                                ticket.get("ticket_type"))
    ids = [str(d.get("id")) for d in definitions or [] if isinstance(d, dict)]
    return await _send(request, session, api, ticket_id, "fields", "fields", body, errors, ids)


@router.post("/tickets/{ticket_id}/merge")
async def merge(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    form = await request.form()
    known = known_numbers(await optional(api.get(f"/tickets/{ticket_id}/client")))
    number = ticket_number(form.get("target"))
    if number is not None and number not in known:  # not one of the client's: the number as search finds it
        found = await optional(api.get("/search", params={"q": str(number), "limit": 20}))
        known |= {n: str(i["id"]) for i in (found or {}).get("items", []) if (n := i.get("number")) == number}
    body, errors = merge_body(form, merge_target(form.get("target"), known), session.role in LEADS)
    return await _send(request, session, api, ticket_id, "merge", "merge", body, errors)


@router.post("/tickets/{ticket_id}/split")
async def split(ticket_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    _checked(ticket_id, session)
    body, errors = split_body(await request.form())
    return await _send(request, session, api, ticket_id, "split", "split", body, errors)
