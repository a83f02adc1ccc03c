"""CSAT aggregations on the real database: per agent, group, line, overall and per local period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.domain import FraudMark, Survey, SurveyStatus
from services.feedback.store import INDEXES, SURVEYS
from services.gateway.reports.feedback_pipelines import csat_report, fraud_alerts, fraud_alerts_per_agent
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings

T0 = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 01:30 on 3 March in Moscow


def survey(n: int, answer: str | None, *, agent: str, line: str, group: str, at: datetime,
           created_by: str | None = None) -> Survey:
    s = Survey(id=f"doc-{n}", survey_id=f"{n:032x}", ticket_id=f"T-{n}", ticket_number=n, resolved_event_id=f"e-{n}",
               resolved_at=at - timedelta(hours=1), expires_at=at + timedelta(days=2),
               complete_at=at + timedelta(days=2), channel="email", problem="p", solution="s", agent_id=agent,
               line=line, group_id=group, created_by=created_by)
    if answer is not None:
        s.status, s.answer, s.answered_at = SurveyStatus.answered, answer, at  # type: ignore[assignment]
    if answer == "not_mine":
        s.fraud = FraudMark(alerted_at=at, suspected_agent_id=created_by, lead_ids=["lead-1"], alert_id=f"a-{n}")
    return s


async def test_csat_per_agent_group_line_and_period(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    rows = [
        survey(1, "good", agent="anna", line="first", group="g-1", at=T0),
        survey(2, "good", agent="anna", line="first", group="g-1", at=T0 + timedelta(hours=2)),
        survey(3, "bad", agent="anna", line="first", group="g-2", at=T0 + timedelta(days=1)),
        survey(4, "bad", agent="boris", line="second", group="g-3", at=T0),
        survey(5, "not_mine", agent="boris", line="second", group="g-3", at=T0, created_by="boris"),
        survey(6, "not_mine", agent="anna", line="first", group="g-1", at=T0 + timedelta(hours=3), created_by="boris"),
        survey(7, None, agent="anna", line="first", group="g-1", at=T0),  # unanswered: counts nowhere
        survey(8, "good", agent="anna", line="first", group="g-1", at=T0 + timedelta(days=40)),  # outside the period
    ]
    await db[SURVEYS].insert_many([s.to_doc() for s in rows])
    period = dict(period_start=T0 - timedelta(days=1), period_end=T0 + timedelta(days=7))

    by_agent = await csat_report(db, **period, by="agent")
    assert [(r.key, r.good, r.bad, r.not_mine, r.answered, r.csat) for r in by_agent] == [
        ("anna", 2, 1, 1, 4, pytest.approx(2 / 3, abs=1e-4)), ("boris", 0, 1, 1, 2, 0.0)]
    by_group = await csat_report(db, **period, by="group")
    assert [(r.key, r.csat) for r in by_group] == [("g-1", 1.0), ("g-2", 0.0), ("g-3", 0.0)]
    by_line = await csat_report(db, **period, by="line", line_ids=["first"])
    assert [(r.key, r.good, r.bad) for r in by_line] == [("first", 2, 1)]
    overall = await csat_report(db, **period, by="overall")
    assert [(r.key, r.good, r.bad, r.not_mine, r.csat) for r in overall] == [(None, 2, 2, 2, 0.5)]
    # Per local day: 22:30 UTC on 2 March is already 3 March in Moscow.
    daily = await csat_report(db, **period, by="agent", granularity="day", tz="Europe/Moscow", agent_ids=["anna"])
    assert [(r.period, r.good, r.bad, r.not_mine) for r in daily] == [
        ("2026-03-03", 2, 0, 1), ("2026-03-04", 0, 1, 0)]
    utc_daily = await csat_report(db, **period, by="overall", granularity="day")
    assert [r.period for r in utc_daily] == ["2026-03-02", "2026-03-03"]
    monthly = await csat_report(db, period_start=T0 - timedelta(days=1), period_end=T0 + timedelta(days=60),
                                by="line", granularity="month")
    assert [(r.period, r.key, r.answered) for r in monthly] == [
        ("2026-03", "first", 4), ("2026-03", "second", 2), ("2026-04", "first", 1)]

    alerts = await fraud_alerts(db, **period)
    assert [(a.ticket_id, a.suspected_agent_id, a.resolved_by) for a in alerts] == [
        ("T-6", "boris", "anna"), ("T-5", "boris", "boris")]
    per_agent = await fraud_alerts_per_agent(db, **period)
    assert [(r.suspected_agent_id, r.alerts, sorted(r.ticket_ids)) for r in per_agent] == [("boris", 2, ["T-5", "T-6"])]
    assert await fraud_alerts(db, **period, line_ids=["second"]) == alerts[1:]
    with pytest.raises(ValueError):
        await csat_report(db, period_start=T0, period_end=T0)
    await client.close()
