"""Each report's picture from its JSON: the right chart, every column in the table, the period defaults."""

from __future__ import annotations

from datetime import date

from services.console.views.reports import REPORTS, cell, period, query, view


def test_sla_compliance_charts_each_service_target_share_and_keeps_every_column() -> None:
    data = {"rows": [
        {"dimension": "overall", "key": None, "target": "resolution", "total": 4, "met": 3, "breached": 1,
         "pending": 0, "met_share": 0.75, "breached_share": 0.25},
        {"dimension": "service", "key": "internet", "target": "first_response", "total": 2, "met": 1,
         "breached": 1, "pending": 0, "met_share": 0.5, "breached_share": 0.5}]}
    v = view("sla-compliance", data, "en")
    assert len(v.charts) == 1 and "internet · first response: 0.50" in str(v.charts[0])
    assert "not set" not in str(v.charts[0]).split("<desc>")[1]  # services shown; the overall row is in the table
    assert "per service" in str(v.charts[0])
    assert v.columns[0] == "Breakdown" and len(v.columns) == 9 and v.rows[0][1] == "—"


def test_sla_falls_back_to_client_categories_when_no_ticket_names_a_service() -> None:
    rows = [{"dimension": d, "key": k, "target": "resolution", "total": 2, "met": 1, "breached": 1, "pending": 0,
             "met_share": 0.5, "breached_share": 0.5} for d, k in (("service", None), ("category", "premium"))]
    chart = str(view("sla-compliance", {"rows": rows}, "en").charts[0])
    assert "per client category" in chart and "premium · resolution: 0.50" in chart


def test_trend_is_a_line_chart_of_opened_and_resolved_days_in_russian() -> None:
    data = {"rows": [{"day": "2026-12-01", "opened": 3, "resolved": 1, "median_resolution_seconds": None},
                     {"day": "2026-12-02", "opened": 1, "resolved": 2, "median_resolution_seconds": 60.0}]}
    v = view("resolution-trend", data, "ru")
    svg = str(v.charts[0])
    assert svg.count("<polyline") == 2 and "Создано" in svg and "Решено" in svg
    assert v.rows[1] == ["2026-12-02", "1", "2", "60.00"] and v.columns[0] == "День"


def test_every_offered_report_has_a_chart_and_empty_reports_have_none() -> None:
    for name in REPORTS:
        assert view(name, {"rows": []}, "en").charts == []


def test_csat_shows_departments_only_over_the_whole_period() -> None:
    data = {"rows": [{"dimension": "line", "key": "first", "period": None, "good": 3, "bad": 1, "not_mine": 0,
                      "total": 4, "csat": 0.75},
                     {"dimension": "line", "key": "first", "period": "2026-12-01", "good": 1, "bad": 0,
                      "not_mine": 0, "total": 1, "csat": 1.0},
                     {"dimension": "agent", "key": "ann", "period": None, "good": 1, "bad": 0, "not_mine": 0,
                      "total": 1, "csat": 1.0}]}
    desc = str(view("satisfaction", data, "en").charts[0]).split("<desc>")[1]
    assert desc.startswith("first: 0.75") and "ann" not in desc


def test_period_defaults_to_the_last_30_days_and_swaps_a_reversed_range() -> None:
    today = date(2026, 12, 7)
    assert period(None, None, today) == (date(2026, 11, 8), today)
    assert period(date(2026, 12, 5), date(2026, 12, 1), today) == (date(2026, 12, 1), date(2026, 12, 5))
    q = query(date(2026, 12, 1), date(2026, 12, 5), "ru")
    assert q == {"period_start": "2026-12-01T00:00:00Z", "period_end": "2026-12-06T00:00:00Z", "lang": "ru"}


def test_cells_show_missing_values_as_a_dash() -> None:
    assert [cell(None), cell(0.5), cell(["a", "b"]), cell(True)] == ["—", "0.50", "a, b", "✓"]
