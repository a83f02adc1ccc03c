"""Reports over the ledger's ``tickets`` and the SLA service's ``sla_clocks`` (both read-only here), and the
gateway's own record of macro uses.

Survey-based reports (CSAT, fraud alerts) are in :mod:`reports_feedback`.

Each report runs one aggregation built by :mod:`report_pipelines` and shapes the result there too; this module
only does the I/O. Periods are half-open: ``period_start <= t < period_end``. A bad period raises
``ProblemError(422)`` so the HTTP layer answers with a problem body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import GATEWAY_MACRO_USES, TICKET_VIEWS, TICKETS
from shared.runtime.problems import ProblemError

from . import macros as rm
from . import pipelines as rp
from . import tags_fields as tf
from .export import history_rows
from .models import (
    CategoryGroupBy,
    ChannelReport,
    FirstResponseReport,
    HistoryRow,
    LongIgnoredReport,
    Report,
    ReportFilters,
    ResolutionTrendReport,
    SlaComplianceReport,
    TicketHistory,
    TicketsByCategoryReport,
    WorkloadReport,
)

DEFAULT_SLOW_SECONDS = 3600.0
# A ticket filter ANDed into every report's first $match: the reader's visibility (gateway role scope).
Scope = Mapping[str, Any] | None


def check_period(start: datetime, end: datetime) -> None:
    try:
        rp.check_period(start, end)
    except ValueError as exc:
        raise ProblemError(422, "Invalid report period", str(exc)) from exc


def check_zone(tz: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError(422, "Invalid time zone", f"unknown time zone {tz!r}") from exc


async def _rows(db: AsyncDatabase, pipeline: rp.Pipeline, scope: Scope, history: bool = False) -> list[dict[str, Any]]:
    """On the gateway's history-less copies (their indexes), or on the ledger's tickets when the report reads
    the history."""
    cursor = await db[TICKETS if history else TICKET_VIEWS].aggregate(rp.scoped(pipeline, scope))
    return [doc async for doc in cursor]


async def _facet(db: AsyncDatabase, pipeline: rp.Pipeline, scope: Scope) -> dict[str, list[dict[str, Any]]]:
    rows = await _rows(db, pipeline, scope)
    return rows[0] if rows else {}


async def sla_compliance(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                         filters: ReportFilters | None = None, scope: Scope = None) -> SlaComplianceReport:
    """Share of SLA targets met vs breached, overall and per service, product and client category."""
    check_period(period_start, period_end)
    facet = await _facet(db, rp.sla_compliance_pipeline(period_start, period_end, filters), scope)
    return SlaComplianceReport(period_start=period_start, period_end=period_end, rows=rp.sla_rows(facet))


async def workload(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                   filters: ReportFilters | None = None, scope: Scope = None,
                   agent_ids: Sequence[str] | None = None) -> WorkloadReport:
    """Per agent: tickets in work now, resolved in the period, and how many of those breached their SLA."""
    check_period(period_start, period_end)
    groups = await _rows(db, rp.workload_pipeline(period_start, period_end, filters, agent_ids), scope)
    rows = rp.workload_rows(groups)
    return WorkloadReport(period_start=period_start, period_end=period_end, rows=rows,
                          total_in_work=sum(r.in_work for r in rows), total_closed=sum(r.closed for r in rows),
                          total_breached=sum(r.breached for r in rows))


async def tickets_by_category(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                              filters: ReportFilters | None = None, scope: Scope = None,
                              group_by: CategoryGroupBy = "service") -> TicketsByCategoryReport:
    """Tickets opened in the period per service/sub-service (or topic/subtopic, or client category)."""
    check_period(period_start, period_end)
    groups = await _rows(db, rp.categories_pipeline(period_start, period_end, filters, group_by), scope)
    total, rows = rp.category_rows(groups)
    return TicketsByCategoryReport(period_start=period_start, period_end=period_end, group_by=group_by,
                                   total=total, rows=rows)


async def resolution_trend(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                           filters: ReportFilters | None = None, scope: Scope = None,
                           tz: str = "UTC") -> ResolutionTrendReport:
    """Per local day: tickets opened, resolved, and the median time to resolution of those resolved."""
    check_period(period_start, period_end)
    check_zone(tz)
    facet = await _facet(db, rp.trend_pipeline(period_start, period_end, filters, tz), scope)
    rows, every = rp.trend_rows(facet, rp.days_of(period_start, period_end, tz))
    return ResolutionTrendReport(period_start=period_start, period_end=period_end, timezone=tz, rows=rows,
                                 opened_total=sum(r.opened for r in rows), resolved_total=len(every),
                                 median_resolution_seconds=rp.median(every) if every else None)


async def first_response(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                         filters: ReportFilters | None = None, scope: Scope = None,
                         agent_ids: Sequence[str] | None = None,
                         threshold_seconds: float = DEFAULT_SLOW_SECONDS) -> FirstResponseReport:
    """The "too slow to answer" report: first-reply times per agent, median, p90, and how many over a threshold."""
    check_period(period_start, period_end)
    if threshold_seconds < 0:
        raise ProblemError(422, "Invalid threshold", "threshold_seconds must not be negative")
    groups = await _rows(db, rp.first_response_pipeline(period_start, period_end, filters, agent_ids), scope,
                         history=True)
    return FirstResponseReport(period_start=period_start, period_end=period_end, threshold_seconds=threshold_seconds,
                               rows=rp.first_response_rows(groups, threshold_seconds))


async def long_ignored(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                       filters: ReportFilters | None = None, scope: Scope = None) -> LongIgnoredReport:
    """How many tickets opened in the period got the long-ignored marker, per line and per assignee."""
    check_period(period_start, period_end)
    facet = await _facet(db, rp.long_ignored_pipeline(period_start, period_end, filters), scope)
    return LongIgnoredReport(period_start=period_start, period_end=period_end, rows=rp.long_ignored_rows(facet))


async def channels(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                   filters: ReportFilters | None = None, scope: Scope = None) -> ChannelReport:
    """Tickets opened in the period per channel, with their share and how many are still open."""
    check_period(period_start, period_end)
    groups = await _rows(db, rp.channels_pipeline(period_start, period_end, filters), scope)
    total, rows = rp.channel_rows(groups)
    return ChannelReport(period_start=period_start, period_end=period_end, total=total, rows=rows)


async def tags(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
               filters: ReportFilters | None = None, scope: Scope = None) -> tf.TagsReport:
    """Tickets opened in the period per tag they carry, with how many are still open."""
    check_period(period_start, period_end)
    tagged, rows = tf.tag_rows(await _rows(db, tf.tags_pipeline(period_start, period_end, filters), scope))
    return tf.TagsReport(period_start=period_start, period_end=period_end, tagged=tagged, rows=rows)


async def custom_fields(db: AsyncDatabase, *, period_start: datetime, period_end: datetime, field: str,
                        filters: ReportFilters | None = None, scope: Scope = None) -> tf.CustomFieldReport:
    """Tickets opened in the period per value of one custom field (a multiselect: under each of its values)."""
    check_period(period_start, period_end)
    total, rows = tf.field_rows(await _rows(db, tf.field_pipeline(period_start, period_end, field, filters), scope))
    return tf.CustomFieldReport(period_start=period_start, period_end=period_end, field=field, total=total, rows=rows)


async def macros(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                 filters: ReportFilters | None = None, scope: Scope = None) -> rm.MacrosReport:
    """Macro applications in the period per macro, agent and UTC day; filters and scope apply to each ticket as it was
    when the macro was applied."""
    check_period(period_start, period_end)
    cursor = await db[GATEWAY_MACRO_USES].aggregate(rp.scoped(rm.uses_pipeline(period_start, period_end, filters),
                                                              scope))
    rows = rm.use_rows([doc async for doc in cursor])
    return rm.MacrosReport(period_start=period_start, period_end=period_end, uses=sum(r.uses for r in rows), rows=rows)


# Name → function, for one generic endpoint: GET /api/v1/reports/{name}. Each takes (db, *, period_start,
# period_end, filters) plus its own keywords (see the functions) and returns a Report subclass.
REPORTS: dict[str, Callable[..., Awaitable[Report]]] = {
    "sla-compliance": sla_compliance,
    "workload": workload,
    "tickets-by-category": tickets_by_category,
    "resolution-trend": resolution_trend,
    "first-response": first_response,
    "long-ignored": long_ignored,
    "channels": channels,
    "tags": tags,
    "custom-fields": custom_fields,
    "macros": macros,
}


async def ticket_history(db: AsyncDatabase, ticket_id: str, scope: Scope = None) -> TicketHistory | None:
    """A ticket's recorded events in ledger order, for the history export; None if there is no such ticket
    or it is outside ``scope`` (answer both with 404, so a scope never reveals that a ticket exists)."""
    query: dict[str, Any] = {"_id": ticket_id}
    if scope:
        query = {"$and": [query, dict(scope)]}
    doc = await db[TICKETS].find_one(query, {"number": 1, "history": 1})
    if doc is None:
        return None
    rows: list[HistoryRow] = history_rows(doc.get("history") or [])
    return TicketHistory(ticket_id=ticket_id, number=doc.get("number"), rows=rows)


__all__ = ["REPORTS", "Report", "ReportFilters", "channels", "first_response", "long_ignored", "resolution_trend",
           "sla_compliance", "ticket_history", "tickets_by_category", "workload"]
