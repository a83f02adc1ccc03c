"""Reports over HTTP: JSON, or CSV/XLSX downloads; a lead's figures cover only their scope.

One route per report in ``reports.REPORTS`` and ``reports_feedback.REPORTS``, each with only the parameters its
function takes, so the OpenAPI document says exactly what every report accepts and returns.
"""

import inspect
import typing
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import ValidationError

from shared.contracts.schemas.tickets import FIELD_ID
from shared.runtime.problems import ProblemError, problem_responses

from ..access.principal import LEADS, STAFF, Principal
from ..access.scope import ticket_scope
from ..reports import feedback as reports_feedback
from ..reports import tickets as reports
from ..reports.export import MEDIA_TYPES, export_history, export_report
from ..reports.models import CategoryGroupBy, Granularity, ReportFilters
from .deps import Ctx, CurrentPrincipal, context, current_principal, require

Fmt = Literal["json", "csv", "xlsx"]
DOWNLOADS: dict[str, Any] = {"content": {MEDIA_TYPES["csv"].split(";")[0]: {"schema": {"type": "string"}},
                                         MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}
P = inspect.Parameter

# Per-report extras a report function may accept, as query parameters.
EXTRAS: dict[str, tuple[Any, Any]] = {
    "group_by": (Annotated[CategoryGroupBy, Query(description="Group tickets by")], "service"),
    "tz": (Annotated[str, Query(max_length=64, description="IANA time zone of the days")], "UTC"),
    "agent_ids": (Annotated[list[str] | None, Query(max_length=500, description="Only these agents")], None),
    "threshold_seconds": (Annotated[float, Query(ge=0, le=90 * 86400, description="'Too slow' above this")],
                          reports.DEFAULT_SLOW_SECONDS),
    "granularity": (Annotated[Granularity | None, Query(description="Rows per local day, ISO week, month or year "
                                                                    "(in `tz`); omitted: the whole period")], None),
    "field": (Annotated[str, Query(pattern=FIELD_ID, description="The custom field to group by")], P.empty),
    "limit": (Annotated[int, Query(ge=1, le=reports_feedback.MAX_FRAUD_ROWS, description="At most this many rows")],
              reports_feedback.DEFAULT_FRAUD_ROWS),
}
ALL_REPORTS = {**reports.REPORTS, **reports_feedback.REPORTS}
FILTER_LISTS = ("lines", "group_ids", "service_team_ids", "client_ids", "client_categories", "channels", "tags",
                "fields")
LIST = Annotated[list[str] | None, Query(max_length=200)]


def _common_params() -> list[inspect.Parameter]:
    return [
        P("p", P.KEYWORD_ONLY, annotation=Annotated[Principal, Depends(current_principal)]),
        P("ctx", P.KEYWORD_ONLY, annotation=Annotated[Any, Depends(context)]),
        P("period_start", P.KEYWORD_ONLY, annotation=Annotated[datetime, Query(description="Inclusive")]),
        P("period_end", P.KEYWORD_ONLY, annotation=Annotated[datetime, Query(description="Exclusive")]),
        *[P(name, P.KEYWORD_ONLY, annotation=LIST, default=None)
          for name in FILTER_LISTS],
        P("include_subtickets", P.KEYWORD_ONLY, annotation=bool, default=False),
        P("format", P.KEYWORD_ONLY, annotation=Fmt, default="json"),
        P("lang", P.KEYWORD_ONLY, annotation=Literal["en", "ru"], default="en"),
    ]


def _route(name: str, fn: Any) -> tuple[Any, Any]:
    accepted = set(inspect.signature(fn).parameters)
    extras = [P(k, P.KEYWORD_ONLY, annotation=ann, default=default) for k, (ann, default) in EXTRAS.items()
              if k in accepted]
    returns = typing.get_type_hints(fn)["return"]

    async def endpoint(**kw: Any) -> Any:
        p: Principal = kw.pop("p")
        ctx = kw.pop("ctx")
        require(p, LEADS, "reports")
        if kw.get("agent_ids") and not p.is_admin:
            outside = [a for a in kw["agent_ids"] if a not in p.team_agent_ids and a != p.user_id]
            if outside:
                raise ProblemError(403, "Forbidden", f"not agents of your teams: {', '.join(outside)}")
        try:
            filters = ReportFilters(**{k: kw.pop(k) for k in (*FILTER_LISTS, "include_subtickets")})
        except ValidationError as exc:
            raise ProblemError(422, "Invalid report filter", "; ".join(e["msg"] for e in exc.errors())) from None
        fmt, lang = kw.pop("format"), kw.pop("lang")
        report = await fn(ctx.reads.db, filters=filters, scope=ticket_scope(p) or None, **kw)
        if fmt == "json":
            return report
        body, media, filename = export_report(report, fmt, lang)
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    endpoint.__signature__ = inspect.Signature(_common_params() + extras)  # type: ignore[attr-defined]
    endpoint.__name__ = f"report_{name.replace('-', '_')}"
    return endpoint, returns


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["reports"])
    for name, fn in ALL_REPORTS.items():
        endpoint, returns = _route(name, fn)
        r.add_api_route(f"/reports/{name}", endpoint, methods=["GET"], response_model=returns,
                        responses={200: DOWNLOADS, **problem_responses(401, 403, 422)},
                        summary=f"Report: {name} (JSON, or format=csv|xlsx)", description=(fn.__doc__ or "").strip())

    @r.get("/tickets/{ticket_id}/history/export", tags=["reports"], response_class=Response,
           responses={200: DOWNLOADS, **problem_responses(401, 403, 404, 422)},
           summary="A ticket's full history as CSV or XLSX")
    async def history_export(ticket_id: str, p: CurrentPrincipal, ctx: Ctx,
                             format: Literal["csv", "xlsx"] = "csv",
                             lang: Literal["en", "ru"] = "en") -> Response:
        require(p, STAFF, "history export")
        history = await reports.ticket_history(ctx.reads.db, ticket_id, ticket_scope(p) or None)
        if history is None:
            raise ProblemError(404, "Not Found", f"no ticket {ticket_id}")
        body, media, filename = export_history(history, format, lang)
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    del max_page
    return r
