"""Reports in the console against a real desk: a lead's chart and table come from the gateway's report with his
own token, the downloads are the gateway's files, and a specialist is refused in words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from io import BytesIO

import httpx
import pytest_asyncio
from openpyxl import load_workbook

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.routing import Agent, Line
from shared.runtime.clock import SystemClock
from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk, running_desk
from tests.support.testing import serving


@pytest_asyncio.fixture(loop_scope="session")
async def desk(env: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with running_desk(env, SystemClock(), ["routing", "gateway"], front="gateway",
                            settings={"routing": {"directory_cache_seconds": 0}}) as d:
        await d.put(Line(id="first", order=1), Line(id="development", order=99),
                    Agent(id="rita", name="Rita", line_ids=["first"]),
                    Agent(id="lena", name="Lena", line_ids=["first"], roles=["team_lead"]))
        async with serving(d.app) as gateway_url, \
                serving(create_app(ConsoleSettings(gateway_url=gateway_url, dev_sign_in=True)), lifespan="on") as url:
            yield d, url


async def test_an_administrator_sees_the_trend_chart_and_table_and_downloads_the_files(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    for n in (1, 2):
        await d.send(f"T-r{n}", t.OpenTicket(channel=Channel.web, subject=f"Report ticket {n}", text="help"))
        await d.wait(f"T-r{n}", "TicketOffered", timeout=30)
    async with httpx.AsyncClient(base_url=url, timeout=30) as admin:
        await dev_sign_in(admin, "admin")
        page = await admin.get("/reports", params={"name": "resolution-trend"}, headers=HTML)
        assert page.status_code == 200, page.text
        today = date.today().isoformat()
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in page.text
        assert "Opened and resolved per day" in page.text and f"<td>{today}</td>" in page.text
        assert 'aria-current="page">Resolution trend<' in page.text

        csv = await admin.get("/reports/resolution-trend/export", params={"format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in csv.headers["content-disposition"] and today in csv.text
        xlsx = await admin.get("/reports/channels/export", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
        sheet = load_workbook(BytesIO(xlsx.content)).active
        assert any(row[0].value == "web" for row in sheet.iter_rows(min_row=2) if row[0].value)

        ru = await admin.post("/lang/ru", data={"csrf_token": _csrf(page.text), "next": "/reports"})
        assert ru.status_code == 303
        page_ru = await admin.get("/reports", params={"name": "channels"}, headers=HTML)
        assert "Обращения по каналам" in page_ru.text and "Скачать CSV" in page_ru.text


async def test_a_period_the_other_way_round_is_read_as_meant(desk: tuple[Desk, str]) -> None:
    _, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=30) as admin:
        await dev_sign_in(admin, "admin")
        end = date.today()
        page = await admin.get("/reports", params={"name": "workload", "start": end.isoformat(),
                                                    "end": (end - timedelta(days=7)).isoformat()}, headers=HTML)
        assert page.status_code == 200
        assert f'value="{(end - timedelta(days=7)).isoformat()}"' in page.text


async def test_a_specialist_is_refused_reports_in_words(desk: tuple[Desk, str]) -> None:
    _, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=30) as rita:
        await dev_sign_in(rita, "agent:rita")
        page = await rita.get("/reports", headers=HTML)
        assert page.status_code == 403 and "Traceback" not in page.text
        assert "You may not do this" in page.text
        unknown = await rita.get("/reports", params={"name": "../admin"}, headers=HTML)
        assert unknown.status_code == 404


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)
