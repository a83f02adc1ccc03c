"""Suggested articles on the ticket page: the panel (loaded by app.js from the gateway's suggestions for the ticket)
and "insert into reply", one action that records the article's link on the ticket and answers what app.js puts
into the reply box. An internal article is never offered for a reply: it is the staff's, not the client's."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession
from ..settings import ConsoleSettings
from ..views.kb import insert_text, safe_id, title
from .knowledge import ARTICLES, checked, staff

router = APIRouter()
SUGGESTED = 5


def _ticket(ticket_id: str) -> str:
    if not safe_id(ticket_id):
        raise ProblemError(404, "Not Found", f"no ticket {ticket_id!r}")
    return ticket_id


@router.get("/tickets/{ticket_id}/suggestions", response_class=HTMLResponse)
async def suggestions(ticket_id: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    staff(request, session)
    found = await api.get(f"/tickets/{_ticket(ticket_id)}/suggestions", params={"limit": SUGGESTED})
    return render(request, session, "kb/suggestions.html", ticket_id=ticket_id, items=found["items"], title=title)


@router.post("/tickets/{ticket_id}/articles/{article_id}")
async def insert(ticket_id: str, article_id: str, request: Request, session: CsrfForm, api: UserApi) -> Response:
    """Records the link, then answers the text to insert (app.js); without script, back to the ticket."""
    staff(request, session)
    _ticket(ticket_id)
    mode = (await request.form()).get("mode")
    if mode not in ("link", "text"):
        raise ProblemError(422, "Unprocessable Content", "mode is link or text")
    article, ticket = await asyncio.gather(api.get(f"{ARTICLES}/{checked(article_id)}"),
                                           api.get(f"/tickets/{ticket_id}"))
    if article.get("visibility") == "internal":
        raise ProblemError(409, "Conflict", t("kb.insert.internal", lang_of(request, session)))
    await api.post(f"/tickets/{ticket_id}/articles/{article_id}")
    settings: ConsoleSettings = request.app.state.settings
    text = insert_text(article, str(mode), str(ticket.get("language") or lang_of(request, session)),
                       settings.public_url)
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"text": text})
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
