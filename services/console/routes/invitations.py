"""Inviting a client's contact to the portal (issue 23), for leads (their teams' clients) and administrators: pick
the client, then one of his contacts' addresses, the ticket rights the API offers and the mail's language; the
gateway sends the single-use, expiring link. Its refusals are shown beside their fields, the outcome in words."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ..gateway import Api, GatewayProblem, GatewayUnauthorized, UserApi
from ..guards import LEADS, role_guard
from ..pages import lang_of, render
from ..session import CsrfForm, Session
from ..views.supervision import contact_choices, invitation_body, invitation_errors, minute

router = APIRouter(prefix="/team")
Lead = Annotated[Session, Depends(role_guard(LEADS, "invite.only"))]
Key = Annotated[str | None, Query(max_length=200)]
SHOWN = frozenset({403, 404, 422})


async def _form_ctx(api: Api, client_id: str | None, cursor: str | None) -> dict[str, Any]:
    """The clients page (and the chosen client's contacts) the form offers."""
    clients = await api.get("/portal/invitations/clients", params={"cursor": cursor} if cursor else None) or {}
    contacts = (await api.get(f"/portal/invitations/clients/{quote(client_id, safe='')}/contacts") or {}
                if client_id else {})
    return {"clients": clients.get("items") or [], "next_cursor": clients.get("next_cursor"), "cursor": cursor,
            "ticket_access": clients.get("ticket_access") or [], "client_id": client_id,
            "client": contacts.get("client"), "contacts": contact_choices(contacts.get("items") or [])}


@router.get("/invitations", response_class=HTMLResponse)
async def invitations(request: Request, session: Lead, api: UserApi, client_id: Key = None,
                      cursor: Key = None) -> HTMLResponse:
    return render(request, session, "supervision/invitations.html", values={}, errors={}, sent=None,
                  **await _form_ctx(api, client_id or None, cursor))


@router.post("/invitations", response_class=HTMLResponse)
async def invite(request: Request, session: CsrfForm, _: Lead, api: UserApi) -> HTMLResponse:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    client_id = values.get("client_id", "")[:200] or None
    ctx = await _form_ctx(api, client_id, None)
    lang = lang_of(request, session)
    body, errors = invitation_body(values, ctx["ticket_access"], lang)
    status, sent = 422, None
    if body is not None:
        try:
            answer = await api.post("/portal/invitations", json=body)
        except GatewayUnauthorized:
            raise
        except GatewayProblem as exc:
            if exc.status not in SHOWN:
                raise
            status, errors = exc.status, invitation_errors(exc)
        else:
            status, values = 200, {}
            sent = {"email": answer.get("email"), "until": minute(str(answer.get("expires_at") or ""))}
    return render(request, session, "supervision/invitations.html", status_code=status, values=values,
                  errors=errors, sent=sent, **ctx)
