"""What the reports page shows for each gateway report: its charts and its table, from the report's JSON.

Pure: the route fetches ``GET /api/v1/reports/{name}`` and hands the JSON here, so each report's picture is tested
without a desk. The table keeps every column the gateway returns (the chart is a view of it, not a replacement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup

from ..i18n import t
from .charts import Series, bar_chart, line_chart

Row = dict[str, Any]
# The reports the page offers, in its tab order (the gateway's /reports/{name}).
REPORTS = ("sla-compliance", "workload", "tickets-by-category", "resolution-trend", "satisfaction",
           "first-response", "long-ignored", "channels")
EXPORT_FORMATS = ("csv", "xlsx")
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportView:
    charts: list[Markup]
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The form's dates (end inclusive for people); by default the last 30 days up to today."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    return (start, end) if start <= end else (end, start)


def query(start: date, end: date, lang: str) -> dict[str, str]:
    """Gateway parameters: the period as UTC instants with an exclusive end, and the export language."""
    begin = datetime.combine(start, time.min).isoformat() + "Z"
    finish = datetime.combine(end + timedelta(days=1), time.min).isoformat() + "Z"
    return {"period_start": begin, "period_end": finish, "lang": lang}


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def _share(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _key(row: Row, name: str, lang: str) -> str:
    value = row.get(name)
    return str(value) if value not in (None, "") else t("report.none", lang)


def _bars(rows: list[Row], label: Callable[[Row], str], value: str) -> list[tuple[str, float]]:
    return [(label(r), float(r[value])) for r in rows if isinstance(r.get(value), (int, float))]


def _sla(data: Row, lang: str) -> list[Markup]:
    """Per service where tickets name one, else per client category, else the overall shares."""
    rows: list[Row] = data["rows"]
    by = next((d for d in ("service", "category") if any(r.get("dimension") == d and r.get("key") for r in rows)),
              "overall")
    bars = [(f"{_key(r, 'key', lang)} · {t('report.target.' + r['target'], lang)}", share)
            for r in rows if r.get("dimension") == by and (share := _share(r.get("met_share"))) is not None]
    return [bar_chart(t(f"report.chart.sla.{by}", lang), bars, top=1.0)]


def _workload(data: Row, lang: str) -> list[Markup]:
    rows = data["rows"]
    return [bar_chart(t("report.chart.in_work", lang), _bars(rows, lambda r: r["agent_id"], "in_work")),
            bar_chart(t("report.chart.closed", lang), _bars(rows, lambda r: r["agent_id"], "closed"))]


def _categories(data: Row, lang: str) -> list[Markup]:
    def label(r: Row) -> str:
        sub = r.get("subgroup")
        return _key(r, "group", lang) + (f" / {sub}" if sub else "")
    return [bar_chart(t("report.chart.categories", lang), _bars(data["rows"], label, "total"))]


def _trend(data: Row, lang: str) -> list[Markup]:
    rows = data["rows"]
    return [line_chart(t("report.chart.trend", lang), [
        Series(t("report.col.opened", lang), [(r["day"], float(r["opened"])) for r in rows]),
        Series(t("report.col.resolved", lang), [(r["day"], float(r["resolved"])) for r in rows])])]


def _csat(data: Row, lang: str) -> list[Markup]:
    rows = [r for r in data["rows"] if r.get("dimension") == "line" and r.get("period") is None]
    bars = [(_key(r, "key", lang), share) for r in rows if (share := _share(r.get("csat"))) is not None]
    return [bar_chart(t("report.chart.csat", lang), bars, top=1.0)]


def _first_response(data: Row, lang: str) -> list[Markup]:
    bars = [(r["agent_id"] or t("report.overall", lang), float(r["median_seconds"]) / 60) for r in data["rows"]]
    return [bar_chart(t("report.chart.first_response", lang), bars, unit=" " + t("report.minutes", lang))]


def _long_ignored(data: Row, lang: str) -> list[Markup]:
    rows = [r for r in data["rows"] if r.get("dimension") == "line"]
    return [bar_chart(t("report.chart.long_ignored", lang), _bars(rows, lambda r: _key(r, "key", lang), "share"),
                      top=1.0)]


def _channels(data: Row, lang: str) -> list[Markup]:
    return [bar_chart(t("report.chart.channels", lang), _bars(data["rows"], lambda r: r["channel"], "total"))]


CHARTS: dict[str, Callable[[Row, str], list[Markup]]] = {
    "sla-compliance": _sla, "workload": _workload, "tickets-by-category": _categories,
    "resolution-trend": _trend, "satisfaction": _csat, "first-response": _first_response,
    "long-ignored": _long_ignored, "channels": _channels,
}


def view(name: str, data: Row, lang: str) -> ReportView:
    rows: list[Row] = data.get("rows") or []
    columns = list(rows[0]) if rows else []
    return ReportView(charts=CHARTS[name](data, lang) if rows else [],
                      columns=[t(f"report.col.{c}", lang) for c in columns],
                      rows=[[cell(r.get(c)) for c in columns] for r in rows])
