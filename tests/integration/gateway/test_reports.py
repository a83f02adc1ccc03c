"""Reports against the real database: a seeded read model and figures worked out by hand.

(CSAT and fraud alerts come from feedback's surveys: see test_reports_feedback.py.)

The scenario (period = [2026-03-02 00:00Z, 2026-03-05 00:00Z), agents a1 a2 a3, lines first/second):

 id   chan   created      status            line    assignee resolver resolved     1st reply (by)  flags; rating
 t1   email  03-02 09:00  closed            first   a1       a1       03-02 13:00  09:30 (a1)      -; good 03-03
 t2   email  03-02 10:00  resolved          first   a1       a1       03-03 10:00  12:00 (a1)      breach; bad 03-03
 t3   chat   03-02 11:00  in_progress       first   a2       -        -            11:05 (a2)      ignored
 t4   chat   03-03 08:00  waiting_customer  second  a2       -        -            08:10 (a1!)     breach, ignored
 t5   phone  03-03 09:00  completed         second  a3       a3       03-03 11:00  09:20 (a3)      -; not_mine 03-04
 t6   web    03-04 12:00  new               first   -        -        -            -               ignored
 t7   email  03-04 22:30  offered           first   -        -        -            -
 t8   email  03-01 20:00  closed            second  a2       a3       03-02 08:00  03-01 21:00     breach; good 03-02
 t9   chat   02-20 09:00  closed            first   a1       a1       02-21        02-20           -; good 02-22
 t10  agent  03-03 12:00  new (sub-ticket of t2) development
 t11  email  02-25 09:00  assigned          first   a1
 t12  email  03-02 14:00  in_progress (reopened; resolution kept) first a3 a3 - 14:30 (no ReplySent in history)
 t13  email  03-05 00:00  new               first   (exactly at period end: outside)
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.queries.views import TicketViews
from services.gateway.reports import tickets as reports
from services.gateway.reports.export import export_history, export_report, history_csv, report_csv
from services.gateway.reports.models import ReportFilters
from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Classification, ClientRef, TicketStatus
from shared.contracts.ticket import Rating, Resolution, Ticket
from shared.runtime.mongo import database, mongo_client
from shared.runtime.problems import ProblemError
from shared.runtime.settings import CommonSettings
from tests.support.testing import isolated_env, make_settings

START, END = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)
PERIOD = {"period_start": START, "period_end": END}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ev(tid: str, when: datetime, msg: Message, actor: str | None = None) -> dict[str, Any]:
    env = Envelope(id=f"{tid}-{msg.TYPE}-{when:%d%H%M}", type=msg.TYPE, ticket_id=tid, occurred_at=when,
                   actor=actor, payload=msg.model_dump(mode="json"))
    return env.model_dump(mode="json")


def ticket(tid: str, number: int, channel: str, created: datetime, *, status: str = "new", line: str = "first",
           assignee: str | None = None, resolver: str | None = None, resolved: datetime | None = None,
           first_reply: datetime | None = None, replier: str | None = None, flags: tuple[str, ...] = (),
           rating: tuple[str, datetime] | None = None, service: tuple[str, str | None] | None = None,
           category: str | None = None, parent: str | None = None, history: list[dict[str, Any]] | None = None,
           ) -> dict[str, Any]:
    """A ledger document as Ticket.to_doc() writes it, plus the recorded history."""
    tk = Ticket(
        id=tid, number=number, channel=Channel(channel), status=TicketStatus(status), line=line,
        client=ClientRef(client_id=f"c-{tid}", category=category) if category else None,
        classification=Classification(service_id=service[0], sub_service_id=service[1]) if service else None,
        assignee_id=assignee, flags={f: True for f in flags}, parent_id=parent,
        resolution=Resolution(agent_id=resolver, problem="p", solution="s", at=resolved or created)
        if resolver else None,
        resolved_at=resolved, first_response_at=first_reply,
        rating=Rating(survey_id=f"s-{tid}", answer=rating[0], at=rating[1]) if rating else None,
        created_at=created, updated_at=created, status_changed_at=created,
    )
    doc = tk.to_doc()
    opened = ev(tid, created, t.TicketOpened(number=number, channel=Channel(channel), subject=f"subject {tid}"),
                actor="intake")
    replies = [ev(tid, first_reply, t.ReplySent(agent_id=replier, text="hello", channel=Channel(channel),
                                                first_response=True), actor=replier)] if replier and first_reply else []
    doc["history"] = history if history is not None else [opened, *replies]
    return doc


def t4_history() -> list[dict[str, Any]]:
    """a1 answered first, then the ticket moved to a2; the client's text tries to be a spreadsheet formula."""
    return [
        ev("t4", at(3, 3, 8), t.TicketOpened(number=4, channel=Channel.chat, subject="Не работает вход"),
           actor="intake"),
        ev("t4", at(3, 3, 8, 1), t.TicketAssigned(agent_id="a1", mode="claim"), actor="a1"),
        ev("t4", at(3, 3, 8, 10), t.ReplySent(agent_id="a1", text='=HYPERLINK("http://evil")', channel=Channel.chat,
                                                first_response=True), actor="a1"),
        ev("t4", at(3, 3, 9), t.TicketAssigned(agent_id="a2", mode="reassign", previous_agent_id="a1"),
           actor="lead1"),
        ev("t4", at(3, 3, 9, 30), t.FlagChanged(flag="long_ignored", value=True, reason="not in progress 15 min"),
           actor="routing"),
    ]


TICKETS = [
    ticket("t1", 1, "email", at(3, 2, 9), status="closed", assignee="a1", resolver="a1", resolved=at(3, 2, 13),
           first_reply=at(3, 2, 9, 30), replier="a1", rating=("good", at(3, 3, 10)), service=("S1", "S1a"),
           category="VIP"),
    ticket("t2", 2, "email", at(3, 2, 10), status="resolved", assignee="a1", resolver="a1", resolved=at(3, 3, 10),
           first_reply=at(3, 2, 12), replier="a1", flags=("sla_breached",), rating=("bad", at(3, 3, 12)),
           service=("S1", "S1b"), category="VIP"),
    ticket("t3", 3, "chat", at(3, 2, 11), status="in_progress", assignee="a2", first_reply=at(3, 2, 11, 5),
           replier="a2", flags=("long_ignored",), service=("S1", "S1a"), category="Standard"),
    ticket("t4", 4, "chat", at(3, 3, 8), status="waiting_customer", line="second", assignee="a2",
           first_reply=at(3, 3, 8, 10), flags=("sla_breached", "long_ignored"), service=("S2", "S2a"),
           category="Standard", history=t4_history()),
    ticket("t5", 5, "phone", at(3, 3, 9), status="completed", line="second", assignee="a3", resolver="a3",
           resolved=at(3, 3, 11), first_reply=at(3, 3, 9, 20), replier="a3", rating=("not_mine", at(3, 4, 9)),
           service=("S2", "S2a"), category="Business"),
    ticket("t6", 6, "web", at(3, 4, 12), flags=("long_ignored",), service=("S1", None)),
    ticket("t7", 7, "email", at(3, 4, 22, 30), status="offered", service=("S2", "S2b"), category="VIP"),
    ticket("t8", 8, "email", at(3, 1, 20), status="closed", line="second", assignee="a2", resolver="a3",
           resolved=at(3, 2, 8), first_reply=at(3, 1, 21), replier="a3", flags=("sla_breached",),
           rating=("good", at(3, 2, 9)), service=("S2", "S2a"), category="Business"),
    ticket("t9", 9, "chat", at(2, 20, 9), status="closed", assignee="a1", resolver="a1", resolved=at(2, 21),
           first_reply=at(2, 20, 10), replier="a1", rating=("good", at(2, 22)), service=("S1", "S1a"),
           category="VIP"),
    ticket("t10", 10, "agent", at(3, 3, 12), line="development", parent="t2", service=("S1", "S1b"),
           category="VIP"),
    ticket("t11", 11, "email", at(2, 25, 9), status="assigned", assignee="a1", service=("S1", "S1a"),
           category="VIP"),
    ticket("t12", 12, "email", at(3, 2, 14), status="in_progress", assignee="a3", resolver="a3",
           first_reply=at(3, 2, 14, 30), service=("S1", "S1a"), category="Standard"),
    ticket("t13", 13, "email", at(3, 5), service=("S1", "S1a"), category="VIP"),
]

M, B, P = {"met": True, "breached": False}, {"met": False, "breached": True}, {"met": None, "breached": False}


def clock(tid: str, service: str, product: str | None, category: str | None, **targets: Any) -> dict[str, Any]:
    return {"_id": tid, "policy_id": "pol", "client_id": f"c-{tid}", "category": category, "service_id": service,
            "product": product,
            "targets": {k: (None if v is None else {"target_seconds": 3600, "due_at": at(3, 9),
                                                     "business_seconds_used": 100, **v}) for k, v in targets.items()}}


CLOCKS = [
    clock("t1", "S1", "prodA", "VIP", first_response=M, take_into_work=M, resolution=M),
    clock("t2", "S1", "prodA", "VIP", first_response=M, take_into_work=M, resolution=B),
    clock("t3", "S1", "prodB", "Standard", first_response=M, take_into_work=B, resolution=P),
    clock("t4", "S2", "prodB", "Standard", first_response=B, take_into_work=M, resolution=P),
    clock("t5", "S2", "prodA", "Business", first_response=M, resolution=M),  # no take_into_work target
    clock("t6", "S1", None, None, first_response=P, take_into_work=P, resolution=None),  # null target: skipped
    clock("t8", "S2", "prodA", "Business", first_response=B, take_into_work=B, resolution=B),  # opened before
    clock("t10", "S1", "prodA", "VIP", first_response=B, take_into_work=B, resolution=B),  # sub-ticket
]


@pytest.fixture(scope="module")
async def db(infra: dict[str, str]) -> AsyncIterator[AsyncDatabase]:
    """One seeded read model for the module (seeding per test would only repeat the same inserts)."""
    settings = make_settings(CommonSettings, {**infra, **isolated_env()})
    client = mongo_client(settings)
    database_ = database(client, settings)
    await database_.tickets.insert_many(TICKETS)
    await TicketViews(database_).catch_up()  # the gateway's copies, which every report but first response reads
    await database_.sla_clocks.insert_many(CLOCKS)
    yield database_
    await client.drop_database(settings.mongodb_db)
    await client.close()


def rows(report: Any, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(r, f) for f in fields) for r in report.rows]


SLA_FIELDS = ("dimension", "key", "target", "total", "met", "breached", "pending", "met_share", "breached_share")


async def test_sla_compliance_per_service_product_and_category(db: AsyncDatabase) -> None:
    report = await reports.sla_compliance(db, **PERIOD)
    # Clocks of tickets opened in the period, sub-tickets left out: t1 t2 t3 t4 t5 t6 (not t8, not t10).
    # Shares are met/(met+breached) and breached/(met+breached); pending = total − met − breached.
    assert rows(report, *SLA_FIELDS) == [
        # first_response: t1 M, t2 M, t3 M, t4 B, t5 M, t6 P → 6 = 4 + 1 + 1; 4/5, 1/5
        ("overall", None, "first_response", 6, 4, 1, 1, 0.8, 0.2),
        # take_into_work: t1 M, t2 M, t3 B, t4 M, t6 P (t5 has none) → 5 = 3 + 1 + 1; 3/4, 1/4
        ("overall", None, "take_into_work", 5, 3, 1, 1, 0.75, 0.25),
        # resolution: t1 M, t2 B, t3 P, t4 P, t5 M (t6's is null) → 5 = 2 + 1 + 2; 2/3, 1/3
        ("overall", None, "resolution", 5, 2, 1, 2, 0.6667, 0.3333),
        # S1 = t1 t2 t3 t6: fr M M M P; tiw M M B P; res M B P
        ("service", "S1", "first_response", 4, 3, 0, 1, 1.0, 0.0),
        ("service", "S1", "take_into_work", 4, 2, 1, 1, 0.6667, 0.3333),
        ("service", "S1", "resolution", 3, 1, 1, 1, 0.5, 0.5),
        # S2 = t4 t5: fr B M; tiw M; res P M
        ("service", "S2", "first_response", 2, 1, 1, 0, 0.5, 0.5),
        ("service", "S2", "take_into_work", 1, 1, 0, 0, 1.0, 0.0),
        ("service", "S2", "resolution", 2, 1, 0, 1, 1.0, 0.0),
        # product null = t6: fr P, tiw P
        ("product", None, "first_response", 1, 0, 0, 1, None, None),
        ("product", None, "take_into_work", 1, 0, 0, 1, None, None),
        # prodA = t1 t2 t5: fr M M M; tiw M M; res M B M
        ("product", "prodA", "first_response", 3, 3, 0, 0, 1.0, 0.0),
        ("product", "prodA", "take_into_work", 2, 2, 0, 0, 1.0, 0.0),
        ("product", "prodA", "resolution", 3, 2, 1, 0, 0.6667, 0.3333),
        # prodB = t3 t4: fr M B; tiw B M; res P P
        ("product", "prodB", "first_response", 2, 1, 1, 0, 0.5, 0.5),
        ("product", "prodB", "take_into_work", 2, 1, 1, 0, 0.5, 0.5),
        ("product", "prodB", "resolution", 2, 0, 0, 2, None, None),
        # category null = t6
        ("category", None, "first_response", 1, 0, 0, 1, None, None),
        ("category", None, "take_into_work", 1, 0, 0, 1, None, None),
        # Business = t5: fr M, res M
        ("category", "Business", "first_response", 1, 1, 0, 0, 1.0, 0.0),
        ("category", "Business", "resolution", 1, 1, 0, 0, 1.0, 0.0),
        # Standard = t3 t4: fr M B; tiw B M; res P P
        ("category", "Standard", "first_response", 2, 1, 1, 0, 0.5, 0.5),
        ("category", "Standard", "take_into_work", 2, 1, 1, 0, 0.5, 0.5),
        ("category", "Standard", "resolution", 2, 0, 0, 2, None, None),
        # VIP = t1 t2: fr M M; tiw M M; res M B
        ("category", "VIP", "first_response", 2, 2, 0, 0, 1.0, 0.0),
        ("category", "VIP", "take_into_work", 2, 2, 0, 0, 1.0, 0.0),
        ("category", "VIP", "resolution", 2, 1, 1, 0, 0.5, 0.5),
    ]
    # Scoped to line "second": t4 t5 only. fr B M → 2 = 1+1; tiw M → 1; res P M → 2 = 1 + 0 + 1 pending.
    scoped = await reports.sla_compliance(db, **PERIOD, filters=ReportFilters(lines=["second"]))
    assert [r for r in rows(scoped, *SLA_FIELDS) if r[0] == "overall"] == [
        ("overall", None, "first_response", 2, 1, 1, 0, 0.5, 0.5),
        ("overall", None, "take_into_work", 1, 1, 0, 0, 1.0, 0.0),
        ("overall", None, "resolution", 2, 1, 0, 1, 1.0, 0.0),
    ]


async def test_workload_per_agent(db: AsyncDatabase) -> None:
    report = await reports.workload(db, **PERIOD)
    # a1: in work t11 (assigned, opened before the period) = 1; resolved t1, t2 = 2; breached t2 = 1
    # a2: in work t3, t4 = 2; resolved none (t8 was assigned to a2 but a3 resolved it); breached t4 = 1
    # a3: in work t12 (reopened) = 1; resolved t5, t8 (03-02 08:00, in period) = 2; breached t8 = 1
    assert rows(report, "agent_id", "in_work", "closed", "breached") == [
        ("a1", 1, 2, 1), ("a2", 2, 0, 1), ("a3", 1, 2, 1)]
    # totals: 1+2+1 = 4 in work, 2+0+2 = 4 closed, 1+1+1 = 3 breached
    assert (report.total_in_work, report.total_closed, report.total_breached) == (4, 4, 3)
    only_a2 = await reports.workload(db, **PERIOD, agent_ids=["a2"])
    assert rows(only_a2, "agent_id", "in_work", "closed", "breached") == [("a2", 2, 0, 1)]


async def test_tickets_per_service_sub_service_and_client_category(db: AsyncDatabase) -> None:
    report = await reports.tickets_by_category(db, **PERIOD)
    # Opened in the period: t1 t2 t3 t4 t5 t6 t7 t12 = 8 (t13 sits on the end bound, t10 is a sub-ticket)
    assert report.total == 8
    assert rows(report, "group", "subgroup", "total", "open", "done", "share") == [
        ("S1", "S1a", 3, 2, 1, 0.375),  # t1 closed, t3 + t12 in progress; 3/8
        ("S2", "S2a", 2, 1, 1, 0.25),  # t4 waiting, t5 completed; 2/8
        ("S1", None, 1, 1, 0, 0.125),  # t6 new; 1/8
        ("S1", "S1b", 1, 0, 1, 0.125),  # t2 resolved
        ("S2", "S2b", 1, 1, 0, 0.125),  # t7 offered
    ]
    by_category = await reports.tickets_by_category(db, **PERIOD, group_by="client_category")
    assert rows(by_category, "group", "total", "open", "done") == [
        ("Standard", 3, 3, 0),  # t3 t4 t12, all open
        ("VIP", 3, 1, 2),  # t1 t2 done, t7 open
        (None, 1, 1, 0),  # t6 has no client
        ("Business", 1, 0, 1),  # t5
    ]


async def test_resolution_trend_by_day(db: AsyncDatabase) -> None:
    report = await reports.resolution_trend(db, **PERIOD)
    # opened: 03-02 t1 t2 t3 t12 = 4; 03-03 t4 t5 = 2; 03-04 t6 t7 = 2
    # resolved: 03-02 t8 (12 h = 43200 s) and t1 (4 h = 14400 s) → median (14400 + 43200) / 2 = 28800
    #           03-03 t2 (24 h = 86400 s) and t5 (2 h = 7200 s) → median (7200 + 86400) / 2 = 46800
    assert rows(report, "day", "opened", "resolved", "median_resolution_seconds") == [
        ("2026-03-02", 4, 2, 28800.0), ("2026-03-03", 2, 2, 46800.0), ("2026-03-04", 2, 0, None)]
    # all four: 7200 14400 43200 86400 → (14400 + 43200) / 2 = 28800
    assert (report.opened_total, report.resolved_total, report.median_resolution_seconds) == (8, 4, 28800.0)
    # Moscow (UTC+3): the period is 03-02 03:00 … 03-05 03:00 local, and t7 (22:30Z) was opened on 03-05.
    moscow = await reports.resolution_trend(db, **PERIOD, tz="Europe/Moscow")
    assert rows(moscow, "day", "opened", "resolved") == [
        ("2026-03-02", 4, 2), ("2026-03-03", 2, 2), ("2026-03-04", 1, 0), ("2026-03-05", 1, 0)]


async def test_first_response_per_agent(db: AsyncDatabase) -> None:
    report = await reports.first_response(db, **PERIOD, threshold_seconds=3600)
    # First reply in the period (seconds from opening):
    #   a1: t1 1800, t2 7200, t4 600 (a1 answered before the ticket went to a2)
    #   a2: t3 300
    #   a3: t5 1200, t12 1800 (no ReplySent recorded: attributed to the assignee)
    # a1 sorted 600 1800 7200: median 1800, p90 = ceil(0.9·3) = 3rd = 7200, over 3600: 1 of 3
    # a3 1200 1800: median 1500, p90 = ceil(1.8) = 2nd = 1800; a2: 300 everywhere
    # overall 300 600 1200 1800 1800 7200: median (1200+1800)/2 = 1500, p90 = ceil(5.4) = 6th = 7200, over: 1 of 6
    assert rows(report, "agent_id", "answered", "median_seconds", "p90_seconds", "max_seconds", "over_threshold",
                "over_threshold_share") == [
        (None, 6, 1500.0, 7200.0, 7200.0, 1, 0.1667),
        ("a1", 3, 1800.0, 7200.0, 7200.0, 1, 0.3333),
        ("a3", 2, 1500.0, 1800.0, 1800.0, 0, 0.0),
        ("a2", 1, 300.0, 300.0, 300.0, 0, 0.0),
    ]


async def test_long_ignored_per_line_and_agent(db: AsyncDatabase) -> None:
    report = await reports.long_ignored(db, **PERIOD)
    # Opened in the period: 8; flagged t3 (first, a2), t4 (second, a2), t6 (first, unassigned)
    assert rows(report, "dimension", "key", "total", "long_ignored", "share") == [
        ("overall", None, 8, 3, 0.375),  # 3/8
        ("line", "first", 6, 2, 0.3333),  # t1 t2 t3 t6 t7 t12; t3 t6 → 2/6
        ("line", "second", 2, 1, 0.5),  # t4 t5; t4
        ("agent", None, 2, 1, 0.5),  # t6 t7; t6
        ("agent", "a1", 2, 0, 0.0),  # t1 t2
        ("agent", "a2", 2, 2, 1.0),  # t3 t4
        ("agent", "a3", 2, 0, 0.0),  # t5 t12
    ]


async def test_channel_statistics_and_their_exports(db: AsyncDatabase) -> None:
    report = await reports.channels(db, **PERIOD)
    # email t1 t2 t7 t12 = 4 (open t7 t12), chat t3 t4 = 2 (open), phone t5 = 1 (done), web t6 = 1 (open); of 8
    assert report.total == 8
    expected = [("email", 4, 2, 2, 0.5), ("chat", 2, 2, 0, 0.25), ("phone", 1, 0, 1, 0.125),
                ("web", 1, 1, 0, 0.125)]
    assert rows(report, "channel", "total", "open", "done", "share") == expected

    table = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert table == [["channel", "total", "open", "done", "share"],
                     *[[c, str(n), str(o), str(d), str(s)] for c, n, o, d, s in expected]]

    body, media, name = export_report(report, "xlsx", lang="ru")
    assert media.startswith("application/vnd.openxmlformats") and name == "channels_20260302-20260305.xlsx"
    wb = load_workbook(io.BytesIO(body))
    sheet = wb["channels"]
    assert [c.value for c in sheet[1]] == ["Канал", "Всего", "Открыто", "Решено", "Доля"]
    assert [[c.value for c in r] for r in sheet.iter_rows(min_row=2)] == [list(e) for e in expected]
    summary = {r[0].value: r[1].value for r in wb["итоги"].iter_rows(min_row=2)}
    assert summary == {"Начало периода": datetime(2026, 3, 2), "Конец периода": datetime(2026, 3, 5), "Всего": 8}


async def test_ticket_history_export(db: AsyncDatabase) -> None:
    history = await reports.ticket_history(db, "t4")
    assert history is not None and history.number == 4
    assert [(r.type, r.actor) for r in history.rows] == [
        ("TicketOpened", "intake"), ("TicketAssigned", "a1"), ("ReplySent", "a1"), ("TicketAssigned", "lead1"),
        ("FlagChanged", "routing")]
    assert await reports.ticket_history(db, "nope") is None

    table = list(csv.reader(io.StringIO(history_csv(history).decode("utf-8-sig"))))
    assert table[0] == ["at", "type", "actor", "summary"]
    assert table[1] == ["2026-03-03T08:00:00Z", "TicketOpened", "intake", "#4 via chat: Не работает вход"]
    assert table[3][3] == "reply by a1 via chat: =HYPERLINK(\"http://evil\")"
    assert table[4][3] == "assigned to a2 (reassign)"
    assert table[5][3] == "long_ignored = true: not in progress 15 min"

    body, _, name = export_history(history, "xlsx")
    assert name == "ticket-4-history.xlsx"
    sheet = load_workbook(io.BytesIO(body))["history"]
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert cells[0] == ["at", "type", "actor", "summary"] and len(cells) == 6
    assert cells[2] == ["2026-03-03T08:01:00Z", "TicketAssigned", "a1", "assigned to a1 (claim)"]
    assert cells[3][3] == 'reply by a1 via chat: =HYPERLINK("http://evil")'


async def test_a_visibility_scope_narrows_every_figure(db: AsyncDatabase) -> None:
    """The gateway's role scope is an arbitrary ticket filter (with its own $or): the reports AND it in."""
    scope = {"$or": [{"assignee_id": "a2"}, {"line": {"$in": ["second"]}}]}
    # visible: t3 t4 (assignee a2), t5 (line second), t8 (both) — t8 resolved in the period by a3
    work = await reports.workload(db, **PERIOD, scope=scope)
    assert rows(work, "agent_id", "in_work", "closed", "breached") == [("a2", 2, 0, 1), ("a3", 0, 2, 1)]
    # opened in the period and visible: t3 (03-02), t4 t5 (03-03); resolved: t8 03-02 (43200 s), t5 03-03 (7200 s)
    trend = await reports.resolution_trend(db, **PERIOD, scope=scope)
    assert rows(trend, "day", "opened", "resolved", "median_resolution_seconds") == [
        ("2026-03-02", 1, 1, 43200.0), ("2026-03-03", 2, 1, 7200.0), ("2026-03-04", 0, 0, None)]
    assert await reports.ticket_history(db, "t1", scope=scope) is None  # exists, but not for this reader
    assert await reports.ticket_history(db, "t4", scope=scope) is not None


async def test_bad_periods_are_refused(db: AsyncDatabase) -> None:
    with pytest.raises(ProblemError) as info:
        await reports.channels(db, period_start=END, period_end=START)
    assert info.value.status == 422
    with pytest.raises(ProblemError):
        await reports.resolution_trend(db, **PERIOD, tz="Mars/Olympus")
