"""Charts as server-rendered SVG: no chart library, no script, nothing fetched from elsewhere.

Colours and sizes are SVG presentation attributes, not ``style``: the console's Content-Security-Policy forbids
inline styles. Every chart carries a ``<title>`` and a ``<desc>`` for screen readers, and the page shows the same
numbers as a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 640, 22, 6, 180
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[str, float]]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="t d">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text node above and in body is escaped


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", top: float | None = None) -> Markup:
    """Horizontal bars, one per (label, value); ``top`` fixes the scale (1.0 for shares)."""
    bars = list(bars)
    scale = top or max((v for _, v in bars), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 60
    height = max(1, len(bars)) * (BAR_HEIGHT + GAP) + GAP
    body: list[str] = []
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        w = max(0.0, min(1.0, value / scale)) * plot
        shown = f"{value * 100:.0f}%" if top == 1.0 else _fmt(value) + unit
        body.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 6}" text-anchor="end" font-size="13" '
                    f'fill="#1f2937">{escape(label[:28])}</text>'
                    f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" fill="{PALETTE[0]}"/>'
                    f'<text x="{LABEL_WIDTH + w + 6:.1f}" y="{y + BAR_HEIGHT - 6}" font-size="13" '
                    f'fill="#1f2937">{escape(shown)}</text>')
    desc = "; ".join(f"{label}: {_fmt(value)}{unit}" for label, value in bars) or "no data"
    return _frame(WIDTH, height, title, desc, body)


def line_chart(title: str, series: Sequence[Series], *, height: int = 240) -> Markup:
    """One polyline per series over shared x labels (days), with a legend; y starts at zero."""
    labels = list(dict.fromkeys(x for s in series for x, _ in s.points))
    top = max((v for s in series for _, v in s.points), default=0) or 1
    left, right, bottom, upper = 48, 16, 36, 16
    plot_w, plot_h = WIDTH - left - right, height - bottom - upper

    def at(i: int, v: float) -> str:
        x = left + (plot_w * i / max(1, len(labels) - 1))
        return f"{x:.1f},{upper + plot_h * (1 - v / top):.1f}"

    body = [f'<line x1="{left}" y1="{upper + plot_h}" x2="{WIDTH - right}" y2="{upper + plot_h}" stroke="#9ca3af"/>',
            f'<text x="{left - 6}" y="{upper + 10}" text-anchor="end" font-size="12" fill="#374151">{_fmt(top)}</text>',
            f'<text x="{left - 6}" y="{upper + plot_h}" text-anchor="end" font-size="12" fill="#374151">0</text>']
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            x = at(i, 0).split(",")[0]
            body.append(f'<text x="{x}" y="{height - 16}" text-anchor="middle" font-size="11" '
                        f'fill="#374151">{escape(label[-5:])}</text>')
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        index = {x: i for i, x in enumerate(labels)}
        points = " ".join(at(index[x], v) for x, v in s.points)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body.append(f'<rect x="{left + n * 140}" y="{height - 10}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{left + n * 140 + 14}" y="{height - 1}" font-size="12" '
                    f'fill="#1f2937">{escape(s.name)}</text>')
    desc = "; ".join(f"{s.name}: " + ", ".join(f"{x} {_fmt(v)}" for x, v in s.points) for s in series)
    return _frame(WIDTH, height, title, desc or "no data", body)
