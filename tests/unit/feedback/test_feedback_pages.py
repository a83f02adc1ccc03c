"""The answer pages render in ru and en, escape client text, and need no JavaScript; report pipelines are pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.feedback.domain import LABELS
from services.feedback.pages import TITLES, render
from services.gateway.reports.feedback_pipelines import csat_pipeline, fraud_alerts_pipeline

CODES = list(TITLES)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_page_renders_without_scripts(lang: str) -> None:
    pages = [
        render("choose", lang, number=7, links=[(a, f"/s/tok/{a}") for a in ("good", "bad", "not_mine")]),  # type: ignore[arg-type]
        render("confirm", lang, number=7, answer="bad", action="/s/tok/bad"),  # type: ignore[arg-type]
        render("answered", lang, number=7, answer="good", comment=None, comment_action="/s/tok/comment",  # type: ignore[arg-type]
               max_comment=2000),
        render("commented", lang, number=7),  # type: ignore[arg-type]
        *[render("refused", lang, 409, code=code, number=7, answer="good") for code in CODES],  # type: ignore[arg-type]
    ]
    for page in pages:
        html = page.body.decode()
        assert f'<html lang="{lang}">' in html and "<script" not in html
        assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert all(label in pages[0].body.decode() for label in LABELS[lang].values())
    assert 'method="post"' in pages[1].body.decode() and 'name="comment"' in pages[2].body.decode()
    titles = {pages[4 + i].body.decode().split("<h1>")[1].split("</h1>")[0] for i in range(len(CODES))}
    assert len(titles) == len(CODES)  # every refusal has its own heading


def test_client_text_is_escaped() -> None:
    page = render("answered", "en", number=1, answer="good", comment="<script>alert(1)</script>",
                  comment_action="/s/t/comment", max_comment=10)
    html = page.body.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pipelines_are_pure_and_scoped() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    p = csat_pipeline(start, end, by="group", granularity="month", tz="Europe/Moscow", line_ids=["first"])
    assert p[0]["$match"]["answered_at"] == {"$gte": start, "$lt": end} and p[0]["$match"]["line"] == {"$in": ["first"]}
    assert p[1]["$group"]["_id"]["key"] == "$group_id"
    assert p[1]["$group"]["_id"]["period"]["$dateToString"]["timezone"] == "Europe/Moscow"
    assert csat_pipeline(start, end, by="overall")[1]["$group"]["_id"] == {"key": None}
    f = fraud_alerts_pipeline(start, end, agent_ids=["oleg"])
    assert f[0]["$match"]["created_by"] == {"$in": ["oleg"]} and "fraud.alerted_at" in f[0]["$match"]
    with pytest.raises(ValueError):
        csat_pipeline(end, start)
