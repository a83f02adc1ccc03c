"""Pure report logic: aggregation pipelines (no I/O) and the shaping of their raw output into report rows.

Only operators the embedded database and MongoDB 5+ both run are used (docs/embedded-database.md);
medians and percentiles are computed here in Python from ``$push``-ed values, so figures do not depend on
the server.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from shared.contracts.collections import SLA_CLOCKS
from shared.contracts.schemas.common import ACTIVE_STATUSES, FINISHED_STATUSES, WORKING_STATUSES

from .models import (
    CategoryGroupBy,
    CategoryRow,
    ChannelRow,
    FirstResponseRow,
    LongIgnoredRow,
    ReportFilters,
    SlaComplianceRow,
    SlaTarget,
    TrendRow,
    WorkloadRow,
)
from .ticket_filters import field_match, tag_match

Pipeline = list[dict[str, Any]]

IN_WORK = sorted(s.value for s in WORKING_STATUSES)
OPEN = sorted(s.value for s in ACTIVE_STATUSES)
DONE = sorted(s.value for s in FINISHED_STATUSES)
SLA_TARGETS: tuple[str, ...] = get_args(SlaTarget)
SLA_DIMENSIONS = ("overall", "service", "product", "category")
PEOPLE_DIMENSIONS = ("overall", "line", "agent")
MAX_PERIOD = timedelta(days=400)


# --- shared pieces -------------------------------------------------------------------------------------

def check_period(start: datetime, end: datetime) -> None:
    """Reports scan whole periods: refuse naive, inverted or unbounded ones before touching the database."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("period bounds must carry a time zone")
    if end <= start:
        raise ValueError("period_end must be after period_start")
    if end - start > MAX_PERIOD:
        raise ValueError(f"a report period may span at most {MAX_PERIOD.days} days")


def in_period(field: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {field: {"$gte": start, "$lt": end}}


def in_period_expr(path: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Expression form; null (not yet happened) compares below any date, so it is never in the period."""
    return {"$and": [{"$gte": [path, start]}, {"$lt": [path, end]}]}


def filter_match(filters: ReportFilters | None) -> dict[str, Any]:
    f = filters or ReportFilters()
    match: dict[str, Any] = {}
    for field, values in (("line", f.lines), ("group_id", f.group_ids), ("service_team_id", f.service_team_ids),
                          ("client.client_id", f.client_ids), ("client.category", f.client_categories),
                          ("channel", f.channels)):
        if values is not None:
            match[field] = {"$in": list(values)}
    match |= tag_match(f.tags) | field_match(f.fields)
    if not f.include_subtickets:
        match["parent_id"] = None
    return match


def scoped(pipeline: Pipeline, scope: Mapping[str, Any] | None) -> Pipeline:
    """AND the caller's visibility filter (any ticket query, e.g. the gateway's role scope, which may hold its
    own $or) into the opening $match, so a report never counts a ticket its reader may not see."""
    if not scope:
        return pipeline
    first, *rest = pipeline
    if "$match" not in first:
        raise ValueError("a report pipeline must open with $match on tickets")
    return [{"$match": {"$and": [first["$match"], dict(scope)]}}, *rest]


def flag(expr: dict[str, Any] | str, value: Any = True) -> dict[str, Any]:
    """1 when ``expr`` equals ``value`` else 0, for summing in $group."""
    return {"$cond": [{"$eq": [expr, value]}, 1, 0]}


def one_of(path: str, values: Sequence[str]) -> dict[str, Any]:
    return {"$cond": [{"$in": [path, list(values)]}, 1, 0]}


def seconds_between(start_path: str, end_path: str) -> dict[str, Any]:
    return {"$divide": [{"$subtract": [end_path, start_path]}, 1000]}


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def median(values: Sequence[float]) -> float:
    """Middle value; the mean of the two middle ones for an even count."""
    return round(float(statistics.median(values)), 3)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p·n values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered)))
    return round(float(ordered[rank - 1]), 3)


def nulls_first(value: str | None) -> tuple[bool, str]:
    return (value is not None, value or "")


# --- SLA compliance --------------------------------------------------------------------------------------

def sla_compliance_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None) -> Pipeline:
    """From tickets opened in the period (indexed, scoped) to their clocks, one document per target."""
    counts = {"total": {"$sum": 1}, "met": {"$sum": "$met"}, "breached": {"$sum": "$breached"}}
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$project": {"_id": 1}},
        {"$lookup": {"from": SLA_CLOCKS, "localField": "_id", "foreignField": "_id", "as": "clock"}},
        {"$unwind": "$clock"},
        {"$project": {"service": "$clock.service_id", "product": "$clock.product", "category": "$clock.category",
                      "t": {"$objectToArray": {"$ifNull": ["$clock.targets", {}]}}}},
        {"$unwind": "$t"},
        {"$match": {"t.v": {"$ne": None}}},
        {"$project": {
            "service": 1, "product": 1, "category": 1, "target": "$t.k",
            "breached": flag("$t.v.breached"),
            "met": {"$cond": [{"$and": [{"$eq": ["$t.v.met", True]}, {"$ne": ["$t.v.breached", True]}]}, 1, 0]},
        }},
        {"$facet": {
            "overall": [{"$group": {"_id": {"key": None, "target": "$target"}, **counts}}],
            "service": [{"$group": {"_id": {"key": "$service", "target": "$target"}, **counts}}],
            "product": [{"$group": {"_id": {"key": "$product", "target": "$target"}, **counts}}],
            "category": [{"$group": {"_id": {"key": "$category", "target": "$target"}, **counts}}],
        }},
    ]


def sla_rows(facet: dict[str, list[dict[str, Any]]]) -> list[SlaComplianceRow]:
    rows: list[SlaComplianceRow] = []
    for dimension in SLA_DIMENSIONS:
        for g in facet.get(dimension, []):
            target = g["_id"]["target"]
            if target not in SLA_TARGETS:
                continue  # a target this gateway does not know yet: leave it out rather than guess its meaning
            met, breached, total = int(g["met"]), int(g["breached"]), int(g["total"])
            rows.append(SlaComplianceRow(
                dimension=dimension, key=g["_id"].get("key"), target=target, total=total, met=met,
                breached=breached, pending=total - met - breached, met_share=share(met, met + breached),
                breached_share=share(breached, met + breached)))
    rows.sort(key=lambda r: (SLA_DIMENSIONS.index(r.dimension), nulls_first(r.key), SLA_TARGETS.index(r.target)))
    return rows


# --- workload --------------------------------------------------------------------------------------------

def workload_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None,
                      agent_ids: Sequence[str] | None = None) -> Pipeline:
    """In work is a present-tense count (the ledger keeps current state); closed and breached follow the period.

    A resolved ticket belongs to whoever resolved it, an open one to its assignee.
    """
    closed = in_period_expr("$resolved_at", start, end)
    pipeline: Pipeline = [
        {"$match": {**filter_match(filters), "$or": [
            {"status": {"$in": IN_WORK}, "assignee_id": {"$ne": None}},
            in_period("resolved_at", start, end)]}},
        {"$project": {
            "agent": {"$cond": [closed, {"$ifNull": ["$resolution.agent_id", "$assignee_id"]}, "$assignee_id"]},
            "in_work": one_of("$status", IN_WORK),
            "closed": {"$cond": [closed, 1, 0]},
            "breached": flag("$flags.sla_breached"),
        }},
        {"$match": {"agent": {"$ne": None} if agent_ids is None else {"$in": list(agent_ids)}}},
        {"$group": {"_id": "$agent", "in_work": {"$sum": "$in_work"}, "closed": {"$sum": "$closed"},
                    "breached": {"$sum": "$breached"}}},
        {"$sort": {"_id": 1}},
    ]
    return pipeline


def workload_rows(groups: Iterable[dict[str, Any]]) -> list[WorkloadRow]:
    rows = [WorkloadRow(agent_id=g["_id"], in_work=g["in_work"], closed=g["closed"], breached=g["breached"])
            for g in groups]
    return sorted(rows, key=lambda r: r.agent_id)


# --- tickets per category / sub-service ------------------------------------------------------------------

CATEGORY_KEYS: dict[str, tuple[str, str | None]] = {
    "service": ("$classification.service_id", "$classification.sub_service_id"),
    "topic": ("$classification.topic", "$classification.subtopic"),
    "client_category": ("$client.category", None),
}


def categories_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None,
                        group_by: CategoryGroupBy = "service") -> Pipeline:
    group, subgroup = CATEGORY_KEYS[group_by]
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$project": {"g": group, "s": subgroup, "open": one_of("$status", OPEN), "done": one_of("$status", DONE)}},
        {"$group": {"_id": {"g": "$g", "s": "$s"}, "total": {"$sum": 1}, "open": {"$sum": "$open"},
                    "done": {"$sum": "$done"}}},
    ]


def category_rows(groups: Iterable[dict[str, Any]]) -> tuple[int, list[CategoryRow]]:
    groups = list(groups)
    total = sum(int(g["total"]) for g in groups)
    rows = [CategoryRow(group=g["_id"].get("g"), subgroup=g["_id"].get("s"), total=g["total"], open=g["open"],
                        done=g["done"], share=share(g["total"], total) or 0.0) for g in groups]
    rows.sort(key=lambda r: (-r.total, nulls_first(r.group), nulls_first(r.subgroup)))
    return total, rows


# --- resolution trend ------------------------------------------------------------------------------------

def trend_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None,
                   tz: str = "UTC") -> Pipeline:
    def day(path: str) -> dict[str, Any]:
        return {"$dateToString": {"format": "%Y-%m-%d", "date": path, "timezone": tz}}

    return [
        {"$match": {**filter_match(filters),
                    "$or": [in_period("created_at", start, end), in_period("resolved_at", start, end)]}},
        {"$facet": {
            "opened": [{"$match": in_period("created_at", start, end)},
                       {"$group": {"_id": day("$created_at"), "n": {"$sum": 1}}}],
            "resolved": [{"$match": in_period("resolved_at", start, end)},
                         {"$project": {"day": day("$resolved_at"),
                                       "secs": seconds_between("$created_at", "$resolved_at")}},
                         {"$group": {"_id": "$day", "n": {"$sum": 1}, "secs": {"$push": "$secs"}}}],
        }},
    ]


def days_of(start: datetime, end: datetime, tz: str) -> list[date]:
    """Every local calendar day the half-open period touches, so quiet days show as zeros."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def trend_rows(facet: dict[str, list[dict[str, Any]]], days: Sequence[date]) -> tuple[list[TrendRow], list[float]]:
    opened = {g["_id"]: int(g["n"]) for g in facet.get("opened", [])}
    resolved = {g["_id"]: [float(s) for s in g["secs"] if s is not None] for g in facet.get("resolved", [])}
    rows = []
    for d in days:
        key = d.isoformat()
        secs = resolved.get(key, [])
        rows.append(TrendRow(day=key, opened=opened.get(key, 0), resolved=len(secs),
                             median_resolution_seconds=median(secs) if secs else None))
    every = [s for secs in resolved.values() for s in secs]
    return rows, every


# --- first response ("too slow to answer") ---------------------------------------------------------------

FIRST_REPLY = {"$filter": {"input": {"$ifNull": ["$history", []]}, "as": "e", "cond": {"$and": [
    {"$eq": ["$$e.type", "ReplySent"]}, {"$eq": ["$$e.payload.first_response", True]}]}}}


def first_response_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None,
                            agent_ids: Sequence[str] | None = None) -> Pipeline:
    """The first reply's author comes from the history (ReplySent.first_response); the assignee is a fallback."""
    pipeline: Pipeline = [
        {"$match": {**in_period("first_response_at", start, end), **filter_match(filters)}},
        {"$project": {
            "agent": {"$let": {"vars": {"fr": {"$arrayElemAt": [FIRST_REPLY, 0]}},
                               "in": {"$ifNull": ["$$fr.payload.agent_id", "$assignee_id"]}}},
            "secs": seconds_between("$created_at", "$first_response_at"),
        }},
    ]
    if agent_ids is not None:
        pipeline.append({"$match": {"agent": {"$in": list(agent_ids)}}})
    pipeline.append({"$group": {"_id": "$agent", "secs": {"$push": "$secs"}}})
    return pipeline


def _first_response_row(agent_id: str | None, secs: Sequence[float], threshold: float) -> FirstResponseRow:
    over = sum(1 for s in secs if s > threshold)
    return FirstResponseRow(agent_id=agent_id, answered=len(secs), median_seconds=median(secs),
                            p90_seconds=percentile(secs, 0.9), max_seconds=round(max(secs), 3),
                            over_threshold=over, over_threshold_share=share(over, len(secs)) or 0.0)


def first_response_rows(groups: Iterable[dict[str, Any]], threshold: float) -> list[FirstResponseRow]:
    """Overall row first, then agents slowest (by median) first."""
    per_agent = {g["_id"]: [max(0.0, float(s)) for s in g["secs"] if s is not None] for g in groups}
    agents = [_first_response_row(a, secs, threshold) for a, secs in per_agent.items() if secs and a is not None]
    agents.sort(key=lambda r: (-r.median_seconds, r.agent_id or ""))
    every = [s for secs in per_agent.values() for s in secs]
    return ([_first_response_row(None, every, threshold)] if every else []) + agents


# --- long ignored ----------------------------------------------------------------------------------------

def long_ignored_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None) -> Pipeline:
    counts = {"total": {"$sum": 1}, "long_ignored": {"$sum": "$li"}}
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$project": {"line": "$line", "agent": "$assignee_id", "li": flag("$flags.long_ignored")}},
        {"$facet": {"overall": [{"$group": {"_id": None, **counts}}],
                    "line": [{"$group": {"_id": "$line", **counts}}],
                    "agent": [{"$group": {"_id": "$agent", **counts}}]}},
    ]


def long_ignored_rows(facet: dict[str, list[dict[str, Any]]]) -> list[LongIgnoredRow]:
    rows = [LongIgnoredRow(dimension=dimension, key=g["_id"], total=g["total"], long_ignored=g["long_ignored"],
                           share=share(g["long_ignored"], g["total"]) or 0.0)
            for dimension in PEOPLE_DIMENSIONS for g in facet.get(dimension, [])]
    rows.sort(key=lambda r: (PEOPLE_DIMENSIONS.index(r.dimension), nulls_first(r.key)))
    return rows


# --- channels --------------------------------------------------------------------------------------------

def channels_pipeline(start: datetime, end: datetime, filters: ReportFilters | None = None) -> Pipeline:
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$group": {"_id": "$channel", "total": {"$sum": 1}, "open": {"$sum": one_of("$status", OPEN)},
                    "done": {"$sum": one_of("$status", DONE)}}},
        {"$sort": {"total": -1, "_id": 1}},
    ]


def channel_rows(groups: Iterable[dict[str, Any]]) -> tuple[int, list[ChannelRow]]:
    groups = list(groups)
    total = sum(int(g["total"]) for g in groups)
    rows = [ChannelRow(channel=str(g["_id"]), total=g["total"], open=g["open"], done=g["done"],
                       share=share(g["total"], total) or 0.0) for g in groups]
    rows.sort(key=lambda r: (-r.total, r.channel))
    return total, rows
