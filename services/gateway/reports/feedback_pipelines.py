"""CSAT and fraud-alert reports from ``feedback_surveys``: pure pipeline builders and the functions running them.

Feedback publishes its surveys as a read model (``shared/contracts/collections.py``); these are the gateway's
queries over it, read-only. Pipelines use only operators the embedded database and MongoDB 5+ both run
(docs/embedded-database.md). CSAT = good / (good + bad):
"not mine" is a fraud signal, counted separately, not a satisfaction score. A rating counts in the
period its answer was given (``answered_at``), for the agent who resolved the ticket, the ticket's group
and its line (department) at resolution time.

``tickets`` (every function) is a filter on the ledger's ticket of each survey, such as a reader's visibility
scope: it is applied through one ``$lookup`` by ticket id that returns only the id, so the rule that decides
who may see a ticket is the ledger-side one and is not restated here in survey fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, get_args

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import FEEDBACK_SURVEYS, TICKET_VIEWS
from shared.contracts.schemas.feedback import Answer
from shared.runtime.clock import as_utc

from .feedback_models import CsatRow, Dimension, FraudAgentRow, FraudAlertRow, Granularity
from .pipelines import share

Pipeline = list[dict[str, Any]]
FIELDS: dict[str, str | None] = {"agent": "$agent_id", "group": "$group_id", "line": "$line",
                                 "service_team": "$service_team_id", "overall": None}
# ISO weeks (Monday first; the week-numbering year, so 2027-01-01 is in 2026-W53).
FORMATS: dict[str, str] = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m", "year": "%Y"}
TicketFilter = Mapping[str, Any] | None
ANSWERS: tuple[Answer, ...] = get_args(Answer)


def _period(field: str, start: datetime, end: datetime) -> dict[str, Any]:
    if as_utc(end) <= as_utc(start):
        raise ValueError("period_end must be after period_start")
    return {field: {"$gte": as_utc(start), "$lt": as_utc(end)}}


def _scope(line_ids: Sequence[str] | None, group_ids: Sequence[str] | None,
           agent_ids: Sequence[str] | None, agent_field: str) -> dict[str, Any]:
    """A supervisor sees their lines / groups / agents; None means no restriction on that field."""
    match: dict[str, Any] = {}
    if line_ids is not None:
        match["line"] = {"$in": list(line_ids)}
    if group_ids is not None:
        match["group_id"] = {"$in": list(group_ids)}
    if agent_ids is not None:
        match[agent_field] = {"$in": list(agent_ids)}
    return match


def _ticket_stages(tickets: TicketFilter) -> Pipeline:
    """Keep surveys whose ticket (the gateway's copy) matches ``tickets``; nothing when there is no filter (no join)."""
    if tickets is None:
        return []
    return [
        {"$lookup": {"from": TICKET_VIEWS, "localField": "ticket_id", "foreignField": "_id",
                     "pipeline": [{"$match": dict(tickets)}, {"$project": {"_id": 1}}], "as": "_ticket"}},
        {"$match": {"_ticket": {"$ne": []}}},
        {"$project": {"_ticket": 0}},
    ]


def _csat_match(start: datetime, end: datetime, line_ids: Sequence[str] | None, group_ids: Sequence[str] | None,
                agent_ids: Sequence[str] | None) -> dict[str, Any]:
    return {**_period("answered_at", start, end), "answer": {"$in": list(ANSWERS)},
            **_scope(line_ids, group_ids, agent_ids, "agent_id")}


def _csat_group(by: Dimension, granularity: Granularity | None, tz: str) -> Pipeline:
    """Count the answers per ``by`` key (and local period): the one grouping every CSAT figure comes from."""
    key: dict[str, Any] = {"key": FIELDS[by]}
    if granularity is not None:
        key["period"] = {"$dateToString": {"format": FORMATS[granularity], "date": "$answered_at", "timezone": tz}}
    counts = {a: {"$sum": {"$cond": [{"$eq": ["$answer", a]}, 1, 0]}} for a in ANSWERS}
    return [{"$group": {"_id": key, **counts, "answered": {"$sum": 1}}},
            {"$sort": {"_id.period": 1, "_id.key": 1}}]


def csat_pipeline(start: datetime, end: datetime, *, by: Dimension = "agent", granularity: Granularity | None = None,
                  tz: str = "UTC", line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                  agent_ids: Sequence[str] | None = None, tickets: TicketFilter = None) -> Pipeline:
    """Answers given in [start, end) grouped by ``by`` (and by local day/week/month/year when ``granularity``)."""
    return [{"$match": _csat_match(start, end, line_ids, group_ids, agent_ids)}, *_ticket_stages(tickets),
            *_csat_group(by, granularity, tz)]


def csat_breakdown_pipeline(start: datetime, end: datetime, *, dimensions: Sequence[Dimension],
                            granularity: Granularity | None = None, tz: str = "UTC",
                            line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                            agent_ids: Sequence[str] | None = None, tickets: TicketFilter = None) -> Pipeline:
    """:func:`csat_pipeline` for several dimensions at once: one scan (and one join) feeding a $facet."""
    return [{"$match": _csat_match(start, end, line_ids, group_ids, agent_ids)}, *_ticket_stages(tickets),
            {"$facet": {by: _csat_group(by, granularity, tz) for by in dimensions}}]


def csat_rows(groups: list[dict[str, Any]], by: Dimension) -> list[CsatRow]:
    rows = [CsatRow(dimension=by, key=g["_id"].get("key"), period=g["_id"].get("period"), good=int(g["good"]),
                    bad=int(g["bad"]), not_mine=int(g["not_mine"]), answered=int(g["answered"]),
                    csat=share(int(g["good"]), int(g["good"]) + int(g["bad"]))) for g in groups]
    rows.sort(key=lambda r: (r.period or "", r.key is not None, r.key or ""))
    return rows


def fraud_alerts_pipeline(start: datetime, end: datetime, *, agent_ids: Sequence[str] | None = None,
                          line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                          limit: int = 500, tickets: TicketFilter = None) -> Pipeline:
    """"I did not open this request" answers whose alert was raised in [start, end), newest first."""
    match = {**_period("fraud.alerted_at", start, end), **_scope(line_ids, group_ids, agent_ids, "created_by")}
    return [
        {"$match": match},
        *_ticket_stages(tickets),
        {"$sort": {"fraud.alerted_at": -1}},
        {"$limit": limit},
        {"$project": {"_id": 0, "ticket_id": 1, "ticket_number": 1, "survey_id": 1, "line": 1, "group_id": 1,
                      "resolved_by": "$agent_id", "alerted_at": "$fraud.alerted_at",
                      "suspected_agent_id": "$fraud.suspected_agent_id", "lead_ids": "$fraud.lead_ids"}},
    ]


def fraud_per_agent_pipeline(start: datetime, end: datetime, *, agent_ids: Sequence[str] | None = None,
                             line_ids: Sequence[str] | None = None,
                             group_ids: Sequence[str] | None = None, tickets: TicketFilter = None) -> Pipeline:
    """Alerts per agent who opened the tickets: the supervisors' "who invents tickets" view."""
    match = {**_period("fraud.alerted_at", start, end), **_scope(line_ids, group_ids, agent_ids, "created_by")}
    return [
        {"$match": match},
        *_ticket_stages(tickets),
        {"$group": {"_id": "$fraud.suspected_agent_id", "alerts": {"$sum": 1},
                    "ticket_ids": {"$push": "$ticket_id"}, "last_at": {"$max": "$fraud.alerted_at"}}},
        {"$sort": {"alerts": -1, "_id": 1}},
    ]


async def _run(db: AsyncDatabase, pipeline: Pipeline) -> list[dict[str, Any]]:
    return [row async for row in await db[FEEDBACK_SURVEYS].aggregate(pipeline)]


async def csat_report(db: AsyncDatabase, *, period_start: datetime, period_end: datetime, by: Dimension = "agent",
                      granularity: Granularity | None = None, tz: str = "UTC",
                      line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                      agent_ids: Sequence[str] | None = None, tickets: TicketFilter = None) -> list[CsatRow]:
    """CSAT per agent / group / line / service team / overall, optionally per local day, week, month or year."""
    pipeline = csat_pipeline(period_start, period_end, by=by, granularity=granularity, tz=tz, line_ids=line_ids,
                             group_ids=group_ids, agent_ids=agent_ids, tickets=tickets)
    return csat_rows(await _run(db, pipeline), by)


async def csat_breakdown(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                         dimensions: Sequence[Dimension], granularity: Granularity | None = None, tz: str = "UTC",
                         line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                         agent_ids: Sequence[str] | None = None,
                         tickets: TicketFilter = None) -> dict[Dimension, list[CsatRow]]:
    """:func:`csat_report` for several dimensions in one aggregation."""
    pipeline = csat_breakdown_pipeline(period_start, period_end, dimensions=dimensions, granularity=granularity,
                                       tz=tz, line_ids=line_ids, group_ids=group_ids, agent_ids=agent_ids,
                                       tickets=tickets)
    facet = (await _run(db, pipeline) or [{}])[0]
    return {by: csat_rows(facet.get(by, []), by) for by in dimensions}


async def fraud_alerts(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                       agent_ids: Sequence[str] | None = None, line_ids: Sequence[str] | None = None,
                       group_ids: Sequence[str] | None = None, limit: int = 500,
                       tickets: TicketFilter = None) -> list[FraudAlertRow]:
    pipeline = fraud_alerts_pipeline(period_start, period_end, agent_ids=agent_ids, line_ids=line_ids,
                                     group_ids=group_ids, limit=limit, tickets=tickets)
    return [FraudAlertRow.model_validate({**row, "alerted_at": as_utc(row["alerted_at"])})
            for row in await _run(db, pipeline)]


async def fraud_alerts_per_agent(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                                 agent_ids: Sequence[str] | None = None, line_ids: Sequence[str] | None = None,
                                 group_ids: Sequence[str] | None = None,
                                 tickets: TicketFilter = None) -> list[FraudAgentRow]:
    pipeline = fraud_per_agent_pipeline(period_start, period_end, agent_ids=agent_ids, line_ids=line_ids,
                                        group_ids=group_ids, tickets=tickets)
    return [FraudAgentRow(suspected_agent_id=row["_id"], alerts=int(row["alerts"]), ticket_ids=list(row["ticket_ids"]),
                          last_at=as_utc(row["last_at"])) for row in await _run(db, pipeline)]
