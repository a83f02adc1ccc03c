"""The report charts are plain SVG: escaped labels, bars scaled to the data, a text alternative, no style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.console.views.charts import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_scale_to_the_largest_value_and_describe_the_numbers() -> None:
    svg = ET.fromstring(str(bar_chart("Workload", [("ann", 4), ("bob", 2)])))
    widths = [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] > 0
    assert svg.find(f"{SVG}title").text == "Workload"
    assert "ann: 4" in svg.find(f"{SVG}desc").text and "bob: 2" in svg.find(f"{SVG}desc").text


def test_shares_are_drawn_on_a_fixed_scale_and_shown_as_percent() -> None:
    svg = str(bar_chart("SLA met", [("overall", 0.5)], top=1.0))
    assert ">50%<" in svg


def test_labels_cannot_inject_markup() -> None:
    svg = str(bar_chart("t<script>", [("<img src=x onerror=alert(1)>", 1)]))
    ET.fromstring(svg)  # still well-formed XML
    assert "<script" not in svg and "<img" not in svg and "&lt;img" in svg


def test_no_inline_style_attributes_because_the_csp_forbids_them() -> None:
    out = str(bar_chart("a", [("x", 1)])) + str(line_chart("b", [Series("opened", [("2026-12-01", 3)])]))
    assert "style=" not in out


def test_line_chart_draws_one_polyline_per_series_over_shared_days() -> None:
    svg = ET.fromstring(str(line_chart("Trend", [Series("opened", [("2026-12-01", 3), ("2026-12-02", 5)]),
                                                 Series("resolved", [("2026-12-01", 1), ("2026-12-02", 4)])])))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    assert all(len(p.get("points", "").split()) == 2 for p in lines)


def test_empty_data_still_renders_a_described_chart() -> None:
    svg = ET.fromstring(str(bar_chart("Nothing", [])))
    assert svg.find(f"{SVG}desc").text == "no data"
