"""Reports for team leads and administrators: a chart and the table of each gateway report, and its downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import UserApi
from ..pages import lang_of, render
from ..session import CurrentSession
from ..views.reports import EXPORT_FORMATS, REPORTS, period, query, view

router = APIRouter()
Day = Annotated[date | None, Query()]
# Headers of the gateway's download passed on to the browser (the file name and type are the gateway's).
PASSED = ("content-type", "content-disposition")


def _report(name: str) -> str:
    if name not in REPORTS:
        raise ProblemError(404, "Not Found", f"there is no report {name!r}")
    return name


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(request: Request, session: CurrentSession, api: UserApi, name: str = REPORTS[0],
                       start: Day = None, end: Day = None) -> HTMLResponse:
    _report(name)
    lang = lang_of(request, session)
    first, last = period(start, end, date.today())
    params = query(first, last, lang)
    data = await api.get(f"/reports/{name}", params=params)
    exports = {fmt: f"/reports/{name}/export?format={fmt}&start={first}&end={last}" for fmt in EXPORT_FORMATS}
    return render(request, session, "reports/index.html", name=name, reports=REPORTS, start=first, end=last,
                  report=view(name, data, lang), exports=exports)


@router.get("/reports/{name}/export")
async def export(name: str, request: Request, session: CurrentSession, api: UserApi,
                 format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",  # noqa: A002 - the gateway's name
                 start: Day = None, end: Day = None) -> Response:
    _report(name)
    first, last = period(start, end, date.today())
    resp = await api.raw("GET", f"/reports/{name}",
                         params={**query(first, last, lang_of(request, session)), "format": format})
    try:
        body = await resp.aread()
    finally:
        await resp.aclose()
    return Response(body, headers={k: v for k, v in resp.headers.items() if k.lower() in PASSED})
