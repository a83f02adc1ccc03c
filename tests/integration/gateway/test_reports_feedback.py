"""CSAT and fraud-alert reports (feedback's surveys) through the gateway, on the real database, figures by hand.

Directory (gateway_support): team A = ann, bob, lea (lead); team B = carol. Period [03-02 00:00Z, 03-16 00:00Z),
ISO weeks W10 = 03-02…03-08, W11 = 03-09…03-15, W12 from 03-16. Each survey's ticket is in the ledger's
collection with the same team, line and group, assigned to the agent who resolved it.

 ticket team line   group   resolver opened by answer     answered (UTC)   note
 F1     A    first  g-air   ann      intake    good       03-02 10:00
 F2     A    first  g-air   ann      intake    bad        03-03 21:30      03-04 00:30 in Moscow
 F3     A    second g-net   bob      intake    good       03-09 09:00
 F4     B    first  g-air   carol    intake    good       03-04 12:00
 F5     B    first  g-rail  carol    carol     not_mine   03-10 08:00      fraud: carol
 F6     A    first  g-air   bob      bob       not_mine   03-11 15:00      fraud: bob
 F7     A    first  g-air   ann      intake    -          -                unanswered: counts nowhere
 F8     A    first  g-air   ann      intake    good       03-20 10:00      after the period
 F9     -    second g-net   bob      ann       not_mine   03-12 10:00      fraud: ann; no team, lea sees it by bob
 F10    B    second g-net   carol    intake    bad        03-15 23:30      03-16 02:30 in Moscow (W12)
 F11    A    first  g-air   ann      bob       not_mine   03-13 09:00      fraud: bob; leads lea and root alerted

Lea (lead of A) sees F1 F2 F3 F6 F7 F8 F11 (team A) and F9 (assigned to bob); not F4 F5 F10 (team B, carol).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from gateway_support import stack
from openpyxl import load_workbook

from services.feedback.domain import FraudMark, Survey, SurveyStatus
from services.feedback.store import SURVEYS
from services.gateway.access.principal import Principal, UserRole
from services.gateway.access.scope import ticket_scope
from services.gateway.queries.views import TicketViews
from services.gateway.reports import feedback as rf
from services.gateway.reports.models import ReportFilters
from shared.contracts.schemas.common import Channel, ClientRef, TicketStatus
from shared.contracts.ticket import Resolution, Ticket
from tests.support.desk import Desk

START, END = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC)
PERIOD = {"period_start": START, "period_end": END}
QUERY = {"period_start": "2026-03-02T00:00:00Z", "period_end": "2026-03-16T00:00:00Z"}
LEA_SCOPE_AGENTS = ["ann", "bob", "lea"]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


CASES: list[tuple[str, str | None, str, str, str, str, str | None, datetime | None]] = [
    ("F1", "A", "first", "g-air", "ann", "intake", "good", at(2, 10)),
    ("F2", "A", "first", "g-air", "ann", "intake", "bad", at(3, 21, 30)),
    ("F3", "A", "second", "g-net", "bob", "intake", "good", at(9, 9)),
    ("F4", "B", "first", "g-air", "carol", "intake", "good", at(4, 12)),
    ("F5", "B", "first", "g-rail", "carol", "carol", "not_mine", at(10, 8)),
    ("F6", "A", "first", "g-air", "bob", "bob", "not_mine", at(11, 15)),
    ("F7", "A", "first", "g-air", "ann", "intake", None, None),
    ("F8", "A", "first", "g-air", "ann", "intake", "good", at(20, 10)),
    ("F9", None, "second", "g-net", "bob", "ann", "not_mine", at(12, 10)),
    ("F10", "B", "second", "g-net", "carol", "intake", "bad", at(15, 23, 30)),
    ("F11", "A", "first", "g-air", "ann", "bob", "not_mine", at(13, 9)),
]


def docs() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tickets, surveys = [], []
    for n, (tid, team, line, group, resolver, opener, answer, when) in enumerate(CASES, start=1):
        resolved = (when or at(2, 9)) - timedelta(hours=1)
        tk = Ticket(id=tid, number=n, channel=Channel.email, status=TicketStatus.resolved, line=line, group_id=group,
                    service_team_id=team, client=ClientRef(client_id=f"c-{tid}", service_team_id=team),
                    assignee_id=resolver, created_by=opener, resolved_at=resolved,
                    resolution=Resolution(agent_id=resolver, problem="p", solution="s", at=resolved),
                    created_at=resolved - timedelta(hours=2), updated_at=resolved, status_changed_at=resolved)
        tickets.append(tk.to_doc())
        s = Survey(id=f"doc-{tid}", survey_id=f"{n:032x}", ticket_id=tid, ticket_number=n, resolved_event_id=f"e-{tid}",
                   resolved_at=resolved, expires_at=resolved + timedelta(days=3),
                   complete_at=resolved + timedelta(days=3),
                   channel="email", problem="p", solution="s", agent_id=resolver, created_by=opener, line=line,
                   group_id=group, service_team_id=team)
        if answer is not None:
            s.status, s.answer, s.answered_at = SurveyStatus.answered, answer, when  # type: ignore[assignment]
        if answer == "not_mine":
            assert when is not None
            s.fraud = FraudMark(alerted_at=when, suspected_agent_id=opener, alert_id=f"a-{tid}",
                                lead_ids=["lea", "root"] if tid == "F11" else ["lea"])
        surveys.append(s.to_doc())
    return tickets, surveys


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        tickets, surveys = docs()
        await s.db.tickets.insert_many(tickets)
        await TicketViews(s.db).catch_up()  # written behind the gateway's back: no event tells it to copy them
        await s.db[SURVEYS].insert_many(surveys)
        yield s


def lea_scope() -> dict[str, Any]:
    """What the gateway derives for lea from the directory (see enrich): team A and its agents."""
    return ticket_scope(Principal(user_id="lea", role=UserRole.team_lead, team_ids=["A"],
                                  team_agent_ids=LEA_SCOPE_AGENTS))


CSAT = ("dimension", "key", "good", "bad", "not_mine", "total", "csat")


def table(report: Any, *fields: str, period: bool = False) -> list[tuple[Any, ...]]:
    cols = ("period", *fields) if period else fields
    return [tuple(getattr(r, f) for f in cols) for r in report.rows]


async def test_csat_per_line_group_and_agent(gw: Desk) -> None:
    report = await rf.satisfaction(gw.db, **PERIOD)
    # Answered in the period: F1 g, F2 b, F3 g, F4 g, F5 nm, F6 nm, F9 nm, F10 b, F11 nm (F7 never, F8 after)
    assert table(report, *CSAT) == [
        ("overall", None, 3, 2, 4, 9, 0.6),  # 3 / (3 + 2)
        ("line", "first", 2, 1, 3, 6, 0.6667),  # F1 F2 F4 F5 F6 F11: 2 / 3
        ("line", "second", 1, 1, 1, 3, 0.5),  # F3 F9 F10
        ("group", "g-air", 2, 1, 2, 5, 0.6667),  # F1 F2 F4 F6 F11
        ("group", "g-net", 1, 1, 1, 3, 0.5),  # F3 F9 F10
        ("group", "g-rail", 0, 0, 1, 1, None),  # F5: only "not mine", no score
        ("agent", "ann", 1, 1, 1, 3, 0.5),  # F1 F2 F11
        ("agent", "bob", 1, 0, 2, 3, 1.0),  # F3 F6 F9
        ("agent", "carol", 1, 1, 1, 3, 0.5),  # F4 F5 F10
    ]
    assert report.granularity is None and {r.period for r in report.rows} == {None}
    # lea's scope: F1 g, F2 b, F3 g, F6 nm, F9 nm, F11 nm
    scoped = await rf.satisfaction(gw.db, **PERIOD, scope=lea_scope())
    assert table(scoped, *CSAT) == [
        ("overall", None, 2, 1, 3, 6, 0.6667),
        ("line", "first", 1, 1, 2, 4, 0.5),  # F1 F2 F6 F11
        ("line", "second", 1, 0, 1, 2, 1.0),  # F3 F9
        ("group", "g-air", 1, 1, 2, 4, 0.5),
        ("group", "g-net", 1, 0, 1, 2, 1.0),
        ("agent", "ann", 1, 1, 1, 3, 0.5),
        ("agent", "bob", 1, 0, 2, 3, 1.0),
    ]
    # the common ticket filters reach the surveys through their tickets: line second = F3 g, F9 nm, F10 b
    second = await rf.satisfaction(gw.db, **PERIOD, filters=ReportFilters(lines=["second"]))
    assert table(second, *CSAT)[0] == ("overall", None, 1, 1, 1, 3, 0.5)


async def test_csat_per_week_day_and_month_in_a_time_zone(gw: Desk) -> None:
    weekly = await rf.satisfaction(gw.db, **PERIOD, granularity="week")
    overall = [r for r in table(weekly, *CSAT, period=True) if r[1] == "overall"]
    assert overall == [
        ("2026-W10", "overall", None, 2, 1, 0, 3, 0.6667),  # F1 g, F2 b, F4 g
        ("2026-W11", "overall", None, 1, 1, 4, 6, 0.5),  # F3 g, F10 b; F5 F6 F9 F11 not mine
    ]
    # Moscow (UTC+3): F10 (03-15 23:30Z) was answered on Monday 03-16, the first day of W12
    moscow = await rf.satisfaction(gw.db, **PERIOD, granularity="week", tz="Europe/Moscow")
    assert [r for r in table(moscow, *CSAT, period=True) if r[1] == "overall"] == [
        ("2026-W10", "overall", None, 2, 1, 0, 3, 0.6667),
        ("2026-W11", "overall", None, 1, 0, 4, 5, 1.0),
        ("2026-W12", "overall", None, 0, 1, 0, 1, 0.0),
    ]
    assert [r for r in table(moscow, *CSAT, period=True) if r[1] == "group" and r[2] == "g-net"] == [
        ("2026-W11", "group", "g-net", 1, 0, 1, 2, 1.0), ("2026-W12", "group", "g-net", 0, 1, 0, 1, 0.0)]
    # ann per day: F1 good on 03-02; F2 bad on 03-03 in UTC but on 03-04 in Moscow (00:30)
    utc_days = await rf.satisfaction(gw.db, **PERIOD, granularity="day", agent_ids=["ann"])
    assert [r for r in table(utc_days, *CSAT, period=True) if r[1] == "agent"] == [
        ("2026-03-02", "agent", "ann", 1, 0, 0, 1, 1.0), ("2026-03-03", "agent", "ann", 0, 1, 0, 1, 0.0),
        ("2026-03-13", "agent", "ann", 0, 0, 1, 1, None)]
    msk_days = await rf.satisfaction(gw.db, **PERIOD, granularity="day", tz="Europe/Moscow", agent_ids=["ann"])
    assert [r[0] for r in table(msk_days, *CSAT, period=True) if r[1] == "agent"] == [
        "2026-03-02", "2026-03-04", "2026-03-13"]
    monthly = await rf.satisfaction(gw.db, **PERIOD, granularity="month")
    assert table(monthly, *CSAT, period=True)[0] == ("2026-03", "overall", None, 3, 2, 4, 9, 0.6)


async def test_fraud_alerts_and_per_agent(gw: Desk) -> None:
    alerts = await rf.fraud_alerts(gw.db, **PERIOD)
    # newest first: F11 03-13, F9 03-12, F6 03-11, F5 03-10
    assert [(r.ticket_id, r.suspected_agent_id, r.resolved_by, r.alerted_at) for r in alerts.rows] == [
        ("F11", "bob", "ann", at(13, 9)), ("F9", "ann", "bob", at(12, 10)), ("F6", "bob", "bob", at(11, 15)),
        ("F5", "carol", "carol", at(10, 8))]
    assert alerts.truncated is False and alerts.rows[0].lead_ids == ["lea", "root"]
    first_two = await rf.fraud_alerts(gw.db, **PERIOD, limit=2)
    assert [r.ticket_id for r in first_two.rows] == ["F11", "F9"] and first_two.truncated is True
    assert [r.ticket_id for r in (await rf.fraud_alerts(gw.db, **PERIOD, agent_ids=["bob"])).rows] == ["F11", "F6"]
    scoped = await rf.fraud_alerts(gw.db, **PERIOD, scope=lea_scope())
    assert [r.ticket_id for r in scoped.rows] == ["F11", "F9", "F6"]  # F5 is team B's

    per_agent = await rf.fraud_alerts_per_agent(gw.db, **PERIOD)
    # bob opened F6 and F11; ann F9; carol F5 — most alerts first, then by agent id
    assert [(r.suspected_agent_id, r.alerts, sorted(r.ticket_ids), r.last_at) for r in per_agent.rows] == [
        ("bob", 2, ["F11", "F6"], at(13, 9)), ("ann", 1, ["F9"], at(12, 10)), ("carol", 1, ["F5"], at(10, 8))]
    assert per_agent.total_alerts == 4
    lea = await rf.fraud_alerts_per_agent(gw.db, **PERIOD, scope=lea_scope())
    assert [(r.suspected_agent_id, r.alerts) for r in lea.rows] == [("bob", 2), ("ann", 1)] and lea.total_alerts == 3


async def test_fraud_and_csat_over_http_by_role_with_exports(gw: Desk) -> None:
    admin, lea, ann = gw.token("root", "administrator"), gw.token("lea", "team_lead"), gw.token("ann", "specialist")
    everyone = await gw.http.get("/api/v1/reports/fraud-alerts", params=QUERY, headers=admin)
    assert everyone.status_code == 200, everyone.text
    assert [r["ticket_id"] for r in everyone.json()["rows"]] == ["F11", "F9", "F6", "F5"]
    # the lead's role scope comes from the directory (team A and its agents), not from anything the lead sends
    mine = (await gw.http.get("/api/v1/reports/fraud-alerts", params=QUERY, headers=lea)).json()
    assert [r["ticket_id"] for r in mine["rows"]] == ["F11", "F9", "F6"]
    per_agent = (await gw.http.get("/api/v1/reports/fraud-alerts-per-agent", params=QUERY, headers=lea)).json()
    assert [(r["suspected_agent_id"], r["alerts"]) for r in per_agent["rows"]] == [("bob", 2), ("ann", 1)]
    for name in ("fraud-alerts", "fraud-alerts-per-agent", "satisfaction"):
        denied = await gw.http.get(f"/api/v1/reports/{name}", params=QUERY, headers=ann)
        assert denied.status_code == 403 and denied.headers["content-type"].startswith("application/problem+json")
    outside = await gw.http.get("/api/v1/reports/fraud-alerts", params={**QUERY, "agent_ids": ["carol"]}, headers=lea)
    assert outside.status_code == 403 and "carol" in outside.json()["detail"]
    too_many = await gw.http.get("/api/v1/reports/fraud-alerts", params={**QUERY, "limit": 0}, headers=admin)
    assert too_many.status_code == 422 and too_many.headers["content-type"].startswith("application/problem+json")

    csat = (await gw.http.get("/api/v1/reports/satisfaction", params={**QUERY, "granularity": "week"},
                              headers=lea)).json()
    assert [(r["period"], r["good"], r["bad"], r["csat"]) for r in csat["rows"] if r["dimension"] == "overall"] == [
        ("2026-W10", 1, 1, 0.5), ("2026-W11", 1, 0, 1.0)]  # lea: F1 g F2 b | F3 g (F6 F9 F11 not mine)
    bad_zone = await gw.http.get("/api/v1/reports/satisfaction", params={**QUERY, "tz": "Mars/Olympus"}, headers=lea)
    assert bad_zone.status_code == 422

    exported = await gw.http.get("/api/v1/reports/fraud-alerts", params={**QUERY, "format": "csv"}, headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["ticket_id", "ticket_number", "survey_id", "alerted_at", "suspected_agent_id", "resolved_by",
                       "lead_ids", "line", "group_id"]
    assert rows[1] == ["F11", "11", f"{11:032x}", "2026-03-13T09:00:00+00:00", "bob", "ann", "lea, root", "first",
                       "g-air"]
    assert len(rows) == 5
    xlsx = await gw.http.get("/api/v1/reports/fraud-alerts-per-agent",
                             params={**QUERY, "format": "xlsx", "lang": "ru"}, headers=admin)
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    sheet = wb["fraud-alerts-per-agent"]
    assert [c.value for c in sheet[1]] == ["Подозреваемый сотрудник", "Сигналов", "Обращения",
                                           "Последний сигнал (UTC)"]
    assert [c.value for c in sheet[2]][:2] == ["bob", 2] and sorted(sheet["C2"].value.split(", ")) == ["F11", "F6"]
    assert {r[0].value: r[1].value for r in wb["итоги"].iter_rows(min_row=2)}["Всего сигналов"] == 4
