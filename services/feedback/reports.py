"""CSAT and fraud-alert reports from ``feedback_surveys``: pure pipeline builders and the functions running them.

The gateway imports these functions. Pipelines use only operators SecantusDB and MongoDB 5+ both run
($match, $group, $sort, $project, $dateToString with a time zone, $cond, $eq). CSAT = good / (good + bad):
"not mine" is a fraud signal, counted separately, not a satisfaction score. A rating counts in the
period its answer was given (``answered_at``), for the agent who resolved the ticket, the ticket's group
and its line (department) at resolution time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import as_utc

from .domain import ANSWERS, csat
from .store import SURVEYS

Pipeline = list[dict[str, Any]]
Dimension = Literal["agent", "group", "line", "service_team", "overall"]
Granularity = Literal["day", "month", "year"]
FIELDS: dict[str, str | None] = {"agent": "$agent_id", "group": "$group_id", "line": "$line",
                                 "service_team": "$service_team_id", "overall": None}
FORMATS: dict[str, str] = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


class CsatRow(BaseModel):
    dimension: Dimension
    key: str | None = Field(description="Agent, group, line or service team id; null = not set (or overall)")
    period: str | None = Field(None, description="Local day / month / year, when grouped by period")
    good: int
    bad: int
    not_mine: int
    answered: int
    csat: float | None = Field(description="good / (good + bad); null when there are none")


class FraudAlertRow(BaseModel):
    ticket_id: str
    ticket_number: int
    survey_id: str
    alerted_at: datetime
    suspected_agent_id: str | None = Field(description="Who opened the ticket in the client's name")
    resolved_by: str | None
    lead_ids: list[str]
    line: str | None
    group_id: str | None


class FraudAgentRow(BaseModel):
    suspected_agent_id: str | None
    alerts: int
    ticket_ids: list[str]
    last_at: datetime


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


def csat_pipeline(start: datetime, end: datetime, *, by: Dimension = "agent", granularity: Granularity | None = None,
                  tz: str = "UTC", line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                  agent_ids: Sequence[str] | None = None) -> Pipeline:
    """Answers given in [start, end) grouped by ``by`` (and by local day/month/year when ``granularity``)."""
    match = {**_period("answered_at", start, end), "answer": {"$in": list(ANSWERS)},
             **_scope(line_ids, group_ids, agent_ids, "agent_id")}
    key: dict[str, Any] = {"key": FIELDS[by]}
    if granularity is not None:
        key["period"] = {"$dateToString": {"format": FORMATS[granularity], "date": "$answered_at", "timezone": tz}}
    counts = {a: {"$sum": {"$cond": [{"$eq": ["$answer", a]}, 1, 0]}} for a in ANSWERS}
    return [
        {"$match": match},
        {"$group": {"_id": key, **counts, "answered": {"$sum": 1}}},
        {"$sort": {"_id.period": 1, "_id.key": 1}},
    ]


def csat_rows(groups: list[dict[str, Any]], by: Dimension) -> list[CsatRow]:
    rows = [CsatRow(dimension=by, key=g["_id"].get("key"), period=g["_id"].get("period"), good=int(g["good"]),
                    bad=int(g["bad"]), not_mine=int(g["not_mine"]), answered=int(g["answered"]),
                    csat=csat(int(g["good"]), int(g["bad"]))) for g in groups]
    rows.sort(key=lambda r: (r.period or "", r.key is not None, r.key or ""))
    return rows


def fraud_alerts_pipeline(start: datetime, end: datetime, *, agent_ids: Sequence[str] | None = None,
                          line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                          limit: int = 500) -> Pipeline:
    """"I did not open this request" answers whose alert was raised in [start, end), newest first."""
    match = {**_period("fraud.alerted_at", start, end), **_scope(line_ids, group_ids, agent_ids, "created_by")}
    return [
        {"$match": match},
        {"$sort": {"fraud.alerted_at": -1}},
        {"$limit": limit},
        {"$project": {"_id": 0, "ticket_id": 1, "ticket_number": 1, "survey_id": 1, "line": 1, "group_id": 1,
                      "resolved_by": "$agent_id", "alerted_at": "$fraud.alerted_at",
                      "suspected_agent_id": "$fraud.suspected_agent_id", "lead_ids": "$fraud.lead_ids"}},
    ]


def fraud_per_agent_pipeline(start: datetime, end: datetime, *, agent_ids: Sequence[str] | None = None,
                             line_ids: Sequence[str] | None = None,
                             group_ids: Sequence[str] | None = None) -> Pipeline:
    """Alerts per agent who opened the tickets: the supervisors' "who invents tickets" view."""
    match = {**_period("fraud.alerted_at", start, end), **_scope(line_ids, group_ids, agent_ids, "created_by")}
    return [
        {"$match": match},
        {"$group": {"_id": "$fraud.suspected_agent_id", "alerts": {"$sum": 1},
                    "ticket_ids": {"$push": "$ticket_id"}, "last_at": {"$max": "$fraud.alerted_at"}}},
        {"$sort": {"alerts": -1, "_id": 1}},
    ]


async def _run(db: AsyncDatabase, pipeline: Pipeline) -> list[dict[str, Any]]:
    return [row async for row in await db[SURVEYS].aggregate(pipeline)]


async def csat_report(db: AsyncDatabase, *, period_start: datetime, period_end: datetime, by: Dimension = "agent",
                      granularity: Granularity | None = None, tz: str = "UTC",
                      line_ids: Sequence[str] | None = None, group_ids: Sequence[str] | None = None,
                      agent_ids: Sequence[str] | None = None) -> list[CsatRow]:
    """CSAT per agent / group / line / service team / overall, optionally per local day, month or year."""
    pipeline = csat_pipeline(period_start, period_end, by=by, granularity=granularity, tz=tz, line_ids=line_ids,
                             group_ids=group_ids, agent_ids=agent_ids)
    return csat_rows(await _run(db, pipeline), by)


async def fraud_alerts(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                       agent_ids: Sequence[str] | None = None, line_ids: Sequence[str] | None = None,
                       group_ids: Sequence[str] | None = None, limit: int = 500) -> list[FraudAlertRow]:
    pipeline = fraud_alerts_pipeline(period_start, period_end, agent_ids=agent_ids, line_ids=line_ids,
                                     group_ids=group_ids, limit=limit)
    return [FraudAlertRow.model_validate({**row, "alerted_at": as_utc(row["alerted_at"])})
            for row in await _run(db, pipeline)]


async def fraud_alerts_per_agent(db: AsyncDatabase, *, period_start: datetime, period_end: datetime,
                                 agent_ids: Sequence[str] | None = None, line_ids: Sequence[str] | None = None,
                                 group_ids: Sequence[str] | None = None) -> list[FraudAgentRow]:
    pipeline = fraud_per_agent_pipeline(period_start, period_end, agent_ids=agent_ids, line_ids=line_ids,
                                        group_ids=group_ids)
    return [FraudAgentRow(suspected_agent_id=row["_id"], alerts=int(row["alerts"]), ticket_ids=list(row["ticket_ids"]),
                          last_at=as_utc(row["last_at"])) for row in await _run(db, pipeline)]
