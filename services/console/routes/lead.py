"""The team lead's board: the team's agents with availability, load and tickets (reassign, set availability), and
the clients' fraud alerts ("I did not open this request"); the board re-renders on every live event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..gateway import Api, UserApi, optional
from ..guards import LEADS, role_guard
from ..pages import render
from ..session import CsrfForm, Session

router = APIRouter(prefix="/team")
Lead = Annotated[Session, Depends(role_guard(LEADS, "lead.only"))]
TeamId = Annotated[str | None, Query(max_length=200)]
AVAILABILITY = ("online", "lunch", "off_shift", "vacation", "sick")  # the gateway's Availability values
FRAUD_DAYS = 30


async def board(api: Api, team_id: str | None) -> list[dict[str, Any]]:
    answer = await api.get("/team/board", params={"team_id": team_id} if team_id else None)
    return list(answer.get("teams", []))


async def fraud_alerts(api: Api, now: datetime) -> list[dict[str, Any]] | None:
    """The last month's alerts in the lead's scope; None when the desk cannot say (the board still shows)."""
    period = {"period_start": (now - timedelta(days=FRAUD_DAYS)).isoformat(),
              "period_end": (now + timedelta(minutes=1)).isoformat()}
    report = await optional(api.get("/reports/fraud-alerts", params=period))
    return None if report is None else list(report.get("rows", []))


def _src(team_id: str | None) -> str:
    return "/team/board" + (f"?team_id={quote(team_id, safe='')}" if team_id else "")


@router.get("", response_class=HTMLResponse)
async def team_page(request: Request, session: Lead, api: UserApi, team_id: TeamId = None) -> HTMLResponse:
    return render(request, session, "lead/team.html", teams=await board(api, team_id), src=_src(team_id),
                  alerts=await fraud_alerts(api, datetime.now(UTC)), availability=AVAILABILITY)


@router.get("/board", response_class=HTMLResponse)
async def board_part(request: Request, session: Lead, api: UserApi, team_id: TeamId = None) -> HTMLResponse:
    return render(request, session, "lead/board.html", teams=await board(api, team_id), availability=AVAILABILITY)


def _done(request: Request) -> Response:
    """A form sent by app.js gets 204 (it re-renders the board); a plain form goes back to the board."""
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)
    return RedirectResponse("/team", status_code=303)


@router.post("/agents/{agent_id}/availability")
async def set_availability(agent_id: str, request: Request, session: CsrfForm, _: Lead, api: UserApi) -> Response:
    form = await request.form()
    await api.put(f"/agents/{quote(agent_id, safe='')}/availability",
                  json={"availability": str(form.get("availability") or "")})
    return _done(request)


@router.post("/tickets/{ticket_id}/reassign")
async def reassign(ticket_id: str, request: Request, session: CsrfForm, _: Lead, api: UserApi) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip() or None
    await api.post(f"/tickets/{quote(ticket_id, safe='')}/reassign",
                   json={"agent_id": str(form.get("agent_id") or ""), "reason": reason})
    return _done(request)
