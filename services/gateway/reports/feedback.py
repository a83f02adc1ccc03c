"""Reports over feedback's surveys: CSAT and fraud alerts, run by feedback's own pipelines (read-only here).

The aggregations are :mod:`.feedback_pipelines`' (one CSAT grouping for the whole code base); this module
adds what the gateway's reports share: the half-open period check, the caller's role scope and the common
ticket filters. Those two are ticket filters, so they reach the surveys through the join on the ledger's
ticket (``tickets=``), and a lead's figures follow the same visibility rule as every other report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, get_args

from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.problems import ProblemError

from . import feedback_pipelines as fb
from . import pipelines as rp
from .models import (
    CsatDimension,
    FraudAgentsReport,
    FraudAlertsReport,
    Report,
    ReportFilters,
    SatisfactionReport,
    SatisfactionRow,
)
from .tickets import Scope, check_period, check_zone

CSAT_DIMENSIONS: tuple[CsatDimension, ...] = get_args(CsatDimension)
DEFAULT_FRAUD_ROWS = 500
MAX_FRAUD_ROWS = 5000


def survey_ticket_filter(filters: ReportFilters | None, scope: Scope) -> dict[str, Any] | None:
    """The ticket-side condition for feedback's join; None when nothing narrows (no join at all).

    Feedback makes surveys only for top-level tickets (it completes sub-tickets without one), so the default
    "no sub-tickets" condition alone never narrows surveys and is not worth a join per survey.
    """
    match = rp.filter_match(filters)
    if match == {"parent_id": None}:
        match = {}
    if scope:
        match = {"$and": [match, dict(scope)]} if match else dict(scope)
    return match or None


def satisfaction_rows(found: Mapping[fb.Dimension, Sequence[fb.CsatRow]]) -> list[SatisfactionRow]:
    """Feedback's CSAT rows as the report's table: dimension, then period, then key (none first)."""
    rows = [SatisfactionRow(dimension=by, key=r.key, period=r.period, good=r.good, bad=r.bad, not_mine=r.not_mine,
                            total=r.answered, csat=rp.share(r.good, r.good + r.bad))
            for by in CSAT_DIMENSIONS for r in found.get(by, [])]
    rows.sort(key=lambda r: (CSAT_DIMENSIONS.index(r.dimension), r.period or "", rp.nulls_first(r.key)))
    return rows


async def satisfaction(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                       filters: ReportFilters | None = None, scope: Scope = None,
                       agent_ids: Sequence[str] | None = None, granularity: fb.Granularity | None = None,
                       tz: str = "UTC") -> SatisfactionReport:
    """CSAT = good/(good+bad) of the answers given in the period: overall, per department (line), group and
    resolving agent, optionally per local day, ISO week, month or year."""
    check_period(period_start, period_end)
    check_zone(tz)
    found = await fb.csat_breakdown(db, period_start=period_start, period_end=period_end,
                                    dimensions=CSAT_DIMENSIONS, granularity=granularity, tz=tz, agent_ids=agent_ids,
                                    tickets=survey_ticket_filter(filters, scope))
    return SatisfactionReport(period_start=period_start, period_end=period_end, granularity=granularity,
                              timezone=tz, rows=satisfaction_rows(found))


async def fraud_alerts(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                       filters: ReportFilters | None = None, scope: Scope = None,
                       agent_ids: Sequence[str] | None = None, limit: int = DEFAULT_FRAUD_ROWS) -> FraudAlertsReport:
    """Clients' "I did not open this request" answers raised in the period, newest first; ``agent_ids`` are the
    suspected agents (who opened the tickets)."""
    check_period(period_start, period_end)
    if not 1 <= limit <= MAX_FRAUD_ROWS:
        raise ProblemError(422, "Invalid limit", f"limit must be between 1 and {MAX_FRAUD_ROWS}")
    rows = await fb.fraud_alerts(db, period_start=period_start, period_end=period_end, agent_ids=agent_ids,
                                 limit=limit + 1, tickets=survey_ticket_filter(filters, scope))
    return FraudAlertsReport(period_start=period_start, period_end=period_end, limit=limit,
                             truncated=len(rows) > limit, rows=rows[:limit])


async def fraud_alerts_per_agent(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                                 filters: ReportFilters | None = None, scope: Scope = None,
                                 agent_ids: Sequence[str] | None = None) -> FraudAgentsReport:
    """Fraud alerts raised in the period per suspected agent (who opened the tickets), most alerts first."""
    check_period(period_start, period_end)
    rows = await fb.fraud_alerts_per_agent(db, period_start=period_start, period_end=period_end,
                                           agent_ids=agent_ids, tickets=survey_ticket_filter(filters, scope))
    return FraudAgentsReport(period_start=period_start, period_end=period_end,
                             total_alerts=sum(r.alerts for r in rows), rows=rows)


# Added to ``reports.REPORTS`` by the HTTP layer: one GET /api/v1/reports/{name} each.
REPORTS: dict[str, Callable[..., Awaitable[Report]]] = {
    "satisfaction": satisfaction,
    "fraud-alerts": fraud_alerts,
    "fraud-alerts-per-agent": fraud_alerts_per_agent,
}
