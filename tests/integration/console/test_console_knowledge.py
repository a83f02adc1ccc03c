"""The knowledge base in the console against a real desk (issue 23): an administrator writes and publishes an article
through the console's editor and workflow buttons; an agent sees it suggested on a ticket whose text matches and
inserts it into a reply in one action, the link recorded on the article; a client reads public articles on the
portal and never an internal one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest_asyncio
from integration.console.kb_console_support import (
    WAIT,
    article_stats,
    csrf,
    kb_console_desk,
    offered_ticket,
    published,
)

from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk
from tests.support.testing import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with kb_console_desk(infra) as found:
        yield found


async def test_an_admin_publishes_an_agent_inserts_it_into_a_reply_and_the_link_is_recorded(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    uid = uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as admin:
        await dev_sign_in(admin, "admin")
        form = await admin.get("/kb/new", headers=HTML)
        assert form.status_code == 200 and 'name="title_en"' in form.text
        saved = await admin.post("/kb/new", headers=HTML, data={
            "csrf_token": csrf(form.text), "title_en": f"Modem keeps rebooting {uid}", "visibility": "public",
            "body_en": "If the **modem reboots** by itself, replace its power adapter.", "tags": "modem, power"})
        assert saved.status_code == 303, saved.text
        article_id = saved.headers["location"].split("/kb/articles/")[1].split("?")[0]
        page = await admin.get(f"/kb/articles/{article_id}", headers=HTML)
        assert "<strong>modem reboots</strong>" in page.text and "Submit for review" in page.text
        for action in ("submit", "publish"):
            moved = await admin.post(f"/kb/articles/{article_id}/workflow",
                                     data={"csrf_token": csrf(page.text), "action": action}, headers=HTML)
            assert moved.status_code == 303, moved.text
        page = await admin.get(f"/kb/articles/{article_id}", headers=HTML)
        assert "published" in page.text and "Versions: who changed what" in page.text

    ticket_id = await offered_ticket(d, "Modem problem", "Our modem keeps rebooting by itself every hour")
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as rita:
        await dev_sign_in(rita, "agent:rita")
        ticket = await rita.get(f"/tickets/{ticket_id}", headers=HTML)
        assert ticket.status_code == 200 and f'data-live-src="/tickets/{ticket_id}/suggestions"' in ticket.text
        panel = await rita.get(f"/tickets/{ticket_id}/suggestions", headers=HTML)
        assert panel.status_code == 200 and f'href="/kb/articles/{article_id}"' in panel.text
        assert f'action="/tickets/{ticket_id}/articles/{article_id}"' in panel.text
        inserted = await rita.post(f"/tickets/{ticket_id}/articles/{article_id}", data={"mode": "link"},
                                   headers={"X-CSRF-Token": csrf(ticket.text), "X-Requested-With": "fetch"})
        assert inserted.status_code == 200, inserted.text
        assert inserted.json()["text"] == f"Modem keeps rebooting {uid}: https://desk.example/portal/kb/{article_id}"
        text = await rita.post(f"/tickets/{ticket_id}/articles/{article_id}", data={"mode": "text"},
                               headers={"X-CSRF-Token": csrf(ticket.text), "X-Requested-With": "fetch"})
        assert "replace its power adapter" in text.json()["text"]
    await eventually(lambda: _linked(d, article_id), timeout=WAIT, message="the article linked to the ticket")


async def _linked(d: Desk, article_id: str) -> bool:
    return (await article_stats(d, article_id))["linked_tickets"] == 1


async def test_a_client_reads_public_articles_on_the_portal_and_never_an_internal_one(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    uid = uuid4().hex[:6]
    public = await published(d, f"Printer jams on thick paper {uid}", "Use the manual feed tray for thick paper.")
    internal = await published(d, f"Printer jams: escalation procedure {uid}",
                               "Internal: call the printer vendor's hotline.", visibility="internal")
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as petra:
        await dev_sign_in(petra, "contact:P-1")
        kb = await petra.get("/portal/kb", params={"q": "printer jams thick paper"}, headers=HTML)
        assert kb.status_code == 200 and f'href="/portal/kb/{public}"' in kb.text
        assert internal not in kb.text and "escalation procedure" not in kb.text
        page = await petra.get(f"/portal/kb/{public}", headers=HTML)
        assert page.status_code == 200 and "manual feed tray" in page.text and "This solved it" in page.text
        hidden = await petra.get(f"/portal/kb/{internal}", headers=HTML)
        assert hidden.status_code == 404 and "vendor" not in hidden.text
        suggested = await petra.get("/portal/suggestions", params={"text": "the printer jams on paper"},
                                    headers=HTML)
        assert f'href="/portal/kb/{public}"' in suggested.text and internal not in suggested.text
        solved = await petra.post(f"/portal/kb/{public}/solved", data={"csrf_token": csrf(page.text)}, headers=HTML)
        assert solved.status_code == 303 and solved.headers["location"].endswith("?done=solved")
        assert re.search(r"Glad it helped", (await petra.get(solved.headers["location"], headers=HTML)).text)
    assert (await article_stats(d, public))["deflections"] == 1
