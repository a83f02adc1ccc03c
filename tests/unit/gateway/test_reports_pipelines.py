"""Report logic without a database: pipeline shapes, shaping of grouped output, statistics and exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from services.gateway.reports import pipelines as rp
from services.gateway.reports.export import (
    csv_cell,
    export_history,
    export_report,
    history_rows,
    report_csv,
    report_xlsx,
    summarize,
)
from services.gateway.reports.models import ReportFilters, SatisfactionReport, SatisfactionRow, TicketHistory

S, E = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)


def test_periods_must_be_aware_ordered_and_bounded() -> None:
    rp.check_period(S, E)
    for start, end in [(S.replace(tzinfo=None), E), (E, S), (S, S), (S, S + timedelta(days=401))]:
        with pytest.raises(ValueError):
            rp.check_period(start, end)


def test_filters_become_an_indexed_match_and_leave_sub_tickets_out_by_default() -> None:
    assert rp.filter_match(None) == {"parent_id": None}
    match = rp.filter_match(ReportFilters(lines=["first"], service_team_ids=["team-a"], client_categories=["VIP"],
                                          channels=["email"], include_subtickets=True))
    assert match == {"line": {"$in": ["first"]}, "service_team_id": {"$in": ["team-a"]},
                     "client.category": {"$in": ["VIP"]}, "channel": {"$in": ["email"]}}


def test_sla_pipeline_scopes_tickets_by_opening_time_then_joins_their_clocks() -> None:
    pipeline = rp.sla_compliance_pipeline(S, E, ReportFilters(lines=["second"]))
    assert pipeline[0] == {"$match": {"created_at": {"$gte": S, "$lt": E}, "line": {"$in": ["second"]},
                                      "parent_id": None}}
    lookup = next(stage["$lookup"] for stage in pipeline if "$lookup" in stage)
    assert lookup == {"from": "sla_clocks", "localField": "_id", "foreignField": "_id", "as": "clock"}
    assert set(pipeline[-1]["$facet"]) == {"overall", "service", "product", "category"}


def test_a_visibility_scope_is_anded_into_the_opening_match() -> None:
    pipeline = rp.workload_pipeline(S, E)
    scope = {"$or": [{"assignee_id": "a1"}, {"line": {"$in": ["first"]}}]}
    assert rp.scoped(pipeline, None) is pipeline and rp.scoped(pipeline, {}) is pipeline
    narrowed = rp.scoped(pipeline, scope)
    assert narrowed[0] == {"$match": {"$and": [pipeline[0]["$match"], scope]}} and narrowed[1:] == pipeline[1:]
    with pytest.raises(ValueError):
        rp.scoped([{"$project": {"_id": 1}}], scope)


def test_workload_counts_open_tickets_now_and_resolved_ones_in_the_period() -> None:
    pipeline = rp.workload_pipeline(S, E, agent_ids=["a1"])
    branches = pipeline[0]["$match"]["$or"]
    assert {"status": {"$in": rp.IN_WORK}, "assignee_id": {"$ne": None}} in branches
    assert {"resolved_at": {"$gte": S, "$lt": E}} in branches
    assert {"$match": {"agent": {"$in": ["a1"]}}} in pipeline
    assert {"$match": {"agent": {"$ne": None}}} in rp.workload_pipeline(S, E)


def test_trend_days_follow_the_requested_time_zone() -> None:
    facet = rp.trend_pipeline(S, E, tz="Europe/Moscow")[-1]["$facet"]
    day = facet["opened"][-1]["$group"]["_id"]["$dateToString"]
    assert day == {"format": "%Y-%m-%d", "date": "$created_at", "timezone": "Europe/Moscow"}
    assert rp.days_of(S, E, "UTC") == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    # 03-02 03:00 … 03-05 03:00 local: four calendar days are touched
    assert rp.days_of(S, E, "Europe/Moscow")[-1] == date(2026, 3, 5)


def test_trend_rows_fill_quiet_days_and_take_medians() -> None:
    facet = {"opened": [{"_id": "2026-03-02", "n": 3}],
             "resolved": [{"_id": "2026-03-04", "n": 3, "secs": [10.0, 30.0, 20.0]}]}
    rows, every = rp.trend_rows(facet, rp.days_of(S, E, "UTC"))
    assert [(r.day, r.opened, r.resolved, r.median_resolution_seconds) for r in rows] == [
        ("2026-03-02", 3, 0, None), ("2026-03-03", 0, 0, None), ("2026-03-04", 0, 3, 20.0)]
    assert sorted(every) == [10.0, 20.0, 30.0]


def test_median_and_nearest_rank_percentile() -> None:
    assert rp.median([4, 1, 3, 2]) == 2.5
    assert rp.percentile(list(range(1, 11)), 0.9) == 9  # ceil(0.9·10) = 9th value
    assert rp.percentile([1, 2, 3], 0.9) == 3  # ceil(2.7) = 3rd
    assert rp.percentile([7], 0.9) == 7
    assert rp.percentile([5, 1], 0.5) == 1  # ceil(1.0) = 1st


def test_sla_rows_skip_unknown_targets_and_leave_undecided_shares_empty() -> None:
    facet = {
        "overall": [{"_id": {"key": None, "target": "resolution"}, "total": 4, "met": 1, "breached": 1},
                    {"_id": {"key": None, "target": "first_response"}, "total": 2, "met": 0, "breached": 0},
                    {"_id": {"key": None, "target": "made_up"}, "total": 9, "met": 9, "breached": 0}],
        "service": [{"_id": {"key": "S1", "target": "first_response"}, "total": 3, "met": 2, "breached": 1}],
    }
    rows = [(r.dimension, r.key, r.target, r.pending, r.met_share, r.breached_share) for r in rp.sla_rows(facet)]
    assert rows == [("overall", None, "first_response", 2, None, None),
                    ("overall", None, "resolution", 2, 0.5, 0.5),
                    ("service", "S1", "first_response", 0, 0.6667, 0.3333)]


def test_first_response_rows_put_the_slowest_first_and_keep_unattributed_replies_in_the_total() -> None:
    groups = [{"_id": "fast", "secs": [10.0, 20.0]}, {"_id": "slow", "secs": [100.0, 500.0, 90.0]},
              {"_id": None, "secs": [1000.0]}, {"_id": "clock-skew", "secs": [-5.0]}]
    rows = rp.first_response_rows(groups, threshold=95)
    assert [(r.agent_id, r.answered, r.median_seconds, r.p90_seconds, r.over_threshold) for r in rows] == [
        (None, 7, 90.0, 1000.0, 3),  # 0 10 20 90 100 500 1000 → median 90; over 95: 100 500 1000
        ("slow", 3, 100.0, 500.0, 2),
        ("fast", 2, 15.0, 20.0, 0),
        ("clock-skew", 1, 0.0, 0.0, 0),  # a reply stamped before opening counts as immediate
    ]


def test_category_and_channel_rows_share_of_the_whole() -> None:
    total, rows = rp.category_rows([{"_id": {"g": "S1", "s": None}, "total": 1, "open": 1, "done": 0},
                                    {"_id": {"g": "S2", "s": "x"}, "total": 3, "open": 1, "done": 2}])
    assert total == 4 and [(r.group, r.share) for r in rows] == [("S2", 0.75), ("S1", 0.25)]
    total, channels = rp.channel_rows([{"_id": "chat", "total": 1, "open": 1, "done": 0},
                                       {"_id": "email", "total": 1, "open": 0, "done": 1}])
    assert total == 2 and [c.channel for c in channels] == ["chat", "email"]


def test_csv_cells_never_start_a_formula() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+7 999", "-x", "@SUM", "plain", None, True, 0.5, -3)] == [
        "'=1+1", "'+7 999", "'-x", "'@SUM", "plain", "", "true", "0.5", "-3"]
    # a list (lead ids, ticket ids) is one cell, and is neutralised like any other text
    assert [csv_cell(v) for v in (["lea", "root"], ["=1+1", "x"], [])] == ["lea, root", "'=1+1, x", ""]


def _satisfaction() -> SatisfactionReport:
    return SatisfactionReport(period_start=S, period_end=E, rows=[
        SatisfactionRow(dimension="line", key="=cmd|' /C calc'!A0", good=1, bad=0, not_mine=0, total=1, csat=1.0),
        SatisfactionRow(dimension="agent", key="a1", period="2026-W10", good=0, bad=0, not_mine=2, total=2,
                        csat=None)], timezone="UTC")


def test_report_exports_hold_the_same_table() -> None:
    report = _satisfaction()
    table = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert table == [["dimension", "key", "period", "good", "bad", "not_mine", "total", "csat"],
                     ["line", "'=cmd|' /C calc'!A0", "", "1", "0", "0", "1", "1.0"],
                     ["agent", "a1", "2026-W10", "0", "0", "2", "2", ""]]
    wb = load_workbook(io.BytesIO(report_xlsx(report)))
    sheet = wb["satisfaction"]
    assert sheet["B2"].value == "=cmd|' /C calc'!A0" and sheet["B2"].data_type == "s"  # text, not a formula
    assert sheet["H2"].value == 1.0 and sheet["H3"].value is None
    assert wb["summary"]["A2"].value == "period_start" and wb["summary"]["B2"].value == datetime(2026, 3, 2)
    body, media, name = export_report(report, "csv")
    assert body.startswith(b"\xef\xbb\xbf") and media.startswith("text/csv") and name.endswith(".csv")


def test_history_summaries_say_what_happened() -> None:
    assert summarize("TicketResolved", {"agent_id": "a1", "problem": "no  login", "solution": "reset"}) == (
        "resolved by a1: problem: no login; solution: reset")
    assert summarize("TicketEscalated", {"from_line": "first", "to_line": "second", "handed_by": "a1"}) == (
        "line first → second by a1")
    assert summarize("CallbackLogged", {"agent_id": "a2", "answered": False, "comment": "voicemail"}) == (
        "call-back by a2, not answered: voicemail")
    assert summarize("RatingRecorded", {"answer": "bad", "comment": None}) == "rated bad"
    assert summarize("SomethingNew", {"a": 1, "b": None, "c": ["x", "y"]}) == "a=1; c=x, y"
    assert len(summarize("NoteAdded", {"author_id": "a1", "text": "x" * 2000})) <= 520


def test_history_rows_and_exports() -> None:
    history = [{"occurred_at": "2026-03-02T09:00:00Z", "type": "WorkStarted", "actor": "a1",
                "payload": {"agent_id": "a1"}},
               {"occurred_at": datetime(2026, 3, 2, 10, tzinfo=UTC), "type": "NoteAdded", "actor": None,
                "payload": {"author_id": "a1", "text": "bad\x00char"}}]
    rows = history_rows(history)
    assert [(r.at, r.summary) for r in rows] == [("2026-03-02T09:00:00Z", "work started by a1"),
                                                 ("2026-03-02T10:00:00+00:00", "note by a1: bad\x00char")]
    th = TicketHistory(ticket_id="t1", number=None, rows=rows)
    body, _, name = export_history(th, "xlsx", lang="ru")
    assert name == "ticket-t1-history.xlsx"
    sheet = load_workbook(io.BytesIO(body))["история"]
    assert [c.value for c in sheet[1]] == ["Время (UTC)", "Событие", "Кто", "Описание"]
    assert sheet["D3"].value == "note by a1: badchar"  # control characters cannot live in XLSX
