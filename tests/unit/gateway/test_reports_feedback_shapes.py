"""Survey-based reports without a database: the ticket join feedback runs for the gateway, and the CSAT table."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.reports.feedback import CSAT_DIMENSIONS, satisfaction_rows, survey_ticket_filter
from services.gateway.reports.feedback_models import CsatRow
from services.gateway.reports.feedback_pipelines import csat_breakdown_pipeline, fraud_alerts_pipeline
from services.gateway.reports.models import ReportFilters
from shared.contracts.collections import TICKET_VIEWS

S, E = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC)
SCOPE = {"$or": [{"service_team_id": {"$in": ["A"]}}, {"assignee_id": {"$in": ["ann"]}}]}


def test_no_join_unless_a_scope_or_a_filter_narrows() -> None:
    # sub-tickets never get surveys, so the default "no sub-tickets" alone is no reason to join every survey
    assert survey_ticket_filter(None, None) is None
    assert survey_ticket_filter(ReportFilters(include_subtickets=True), None) is None
    assert survey_ticket_filter(None, SCOPE) == SCOPE
    assert survey_ticket_filter(ReportFilters(lines=["second"]), SCOPE) == {
        "$and": [{"line": {"$in": ["second"]}, "parent_id": None}, SCOPE]}


def test_the_join_keeps_only_surveys_whose_ticket_matches_and_brings_back_nothing_else() -> None:
    p = csat_breakdown_pipeline(S, E, dimensions=CSAT_DIMENSIONS, granularity="week", tz="Europe/Moscow",
                                tickets=SCOPE)
    assert p[0]["$match"]["answered_at"] == {"$gte": S, "$lt": E}
    lookup = p[1]["$lookup"]
    assert (lookup["from"], lookup["localField"], lookup["foreignField"]) == (TICKET_VIEWS, "ticket_id", "_id")
    assert lookup["pipeline"] == [{"$match": SCOPE}, {"$project": {"_id": 1}}]  # no ticket history pulled
    assert p[2] == {"$match": {"_ticket": {"$ne": []}}} and p[3] == {"$project": {"_ticket": 0}}
    facet = p[4]["$facet"]
    assert list(facet) == ["overall", "line", "group", "agent"]
    period = facet["group"][0]["$group"]["_id"]["period"]["$dateToString"]
    assert period == {"format": "%G-W%V", "date": "$answered_at", "timezone": "Europe/Moscow"}
    # without a filter there is no join, and the fraud list joins before it sorts and cuts
    assert "$lookup" not in str(csat_breakdown_pipeline(S, E, dimensions=["overall"]))
    fraud = fraud_alerts_pipeline(S, E, tickets=SCOPE, limit=3)
    assert [next(iter(stage)) for stage in fraud] == ["$match", "$lookup", "$match", "$project", "$sort", "$limit",
                                                      "$project"]


def test_csat_table_orders_dimensions_then_periods_and_rounds_like_every_report() -> None:
    def row(key: str | None, period: str | None, good: int, bad: int, dimension: str = "agent") -> CsatRow:
        return CsatRow(dimension=dimension, key=key, period=period, good=good, bad=bad, not_mine=1,  # type: ignore[arg-type]
                       answered=good + bad + 1, csat=None)

    rows = satisfaction_rows({"agent": [row("b", "2026-W11", 1, 0), row("a", "2026-W11", 2, 1),
                                        row("a", "2026-W10", 0, 0)],
                              "overall": [row(None, "2026-W10", 2, 1, "overall")],
                              "line": [row(None, "2026-W10", 1, 2, "line")]})
    assert [(r.dimension, r.period, r.key, r.total, r.csat) for r in rows] == [
        ("overall", "2026-W10", None, 4, 0.6667), ("line", "2026-W10", None, 4, 0.3333),
        ("agent", "2026-W10", "a", 1, None), ("agent", "2026-W11", "a", 4, 0.6667), ("agent", "2026-W11", "b", 2, 1.0)]
