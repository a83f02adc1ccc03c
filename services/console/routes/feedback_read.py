"""The portal's feedback as leads (their teams' clients) and administrators read it (issue 23): the gateway's pages,
newest first. Clients' words are shown as text only: the template escapes them like every value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ..gateway import UserApi
from ..guards import LEADS, role_guard
from ..pages import render
from ..session import Session
from ..views.supervision import feedback_rows

router = APIRouter(prefix="/team")
Lead = Annotated[Session, Depends(role_guard(LEADS, "pfeedback.only"))]
PAGE = 50


@router.get("/feedback", response_class=HTMLResponse)
async def feedback(request: Request, session: Lead, api: UserApi,
                   cursor: Annotated[str | None, Query(max_length=120)] = None) -> HTMLResponse:
    page = await api.get("/portal/feedback", params={"limit": PAGE, **({"cursor": cursor} if cursor else {})}) or {}
    return render(request, session, "supervision/feedback.html", rows=feedback_rows(page.get("items") or []),
                  next_cursor=page.get("next_cursor"), first=cursor is None)
