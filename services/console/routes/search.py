"""Full-text search (issue 22): ``/search?q=`` for staff and clients, over the gateway's ``GET /api/v1/search`` with
the user's own token (the gateway keeps only tickets the user may open); fragments shown as text, marks as ``<mark>``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..gateway import GatewayProblem, GatewayUnauthorized, UserApi
from ..pages import lang_of, render
from ..session import CurrentSession
from ..views.search import STATUSES, hits, query
from ..views.ticket import refusal

router = APIRouter()


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    chosen = request.query_params.getlist("status")
    params, form = query(request.query_params, chosen, session.staff)
    found, banner, status_code = None, None, 200
    if params is not None:
        try:
            found = await api.get("/search", params=params)
        except GatewayUnauthorized:
            raise
        except GatewayProblem as exc:
            if exc.status >= 500 or exc.status in (401, 404):
                raise
            banner, status_code = refusal(exc, lang_of(request, session)), exc.status
    return render(request, session, "search/page.html", status_code=status_code, form=form, chosen=chosen,
                  statuses=STATUSES, asked=params is not None, banner=banner,
                  results=hits(found, session.staff), total=(found or {}).get("total", 0))
