"""The console's knowledge base search over the search service's article index (issue 23): the staff's /kb and the
portal's /portal/kb show each hit with where it matched (the matched words marked, the rest as text: a fragment's
markup never becomes the page's), and a client's page never shows an internal article's hit or words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest_asyncio
from integration.console.kb_console_support import WAIT, kb_console_desk, published

from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with kb_console_desk(infra) as found:
        yield found


async def test_kb_pages_show_hits_with_marked_fragments_and_never_a_hidden_article_to_a_client(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    uid = uuid4().hex[:6]
    public = await published(d, f"Zebu router {uid}", f"Press `<img src=x onerror=alert(1)>` then restart the zebu "
                                                      f"router k{uid}.")
    internal = await published(d, f"Zebu router escalation {uid}", "Internal: the zebu vendor hotline.",
                               visibility="internal")
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as agent, \
            httpx.AsyncClient(base_url=url, timeout=WAIT) as petra:
        await dev_sign_in(agent, "agent:rita")
        await dev_sign_in(petra, "contact:P-1")
        staff = await agent.get("/kb", params={"q": f"onerror k{uid}"}, headers=HTML)  # words of the body only
        portal = await petra.get("/portal/kb", params={"q": f"zebu router {uid}"}, headers=HTML)
    assert staff.status_code == 200, staff.text
    assert f'href="/kb/articles/{public}"' in staff.text and "<mark>" in staff.text
    assert "<img" not in staff.text and "&lt;img" in staff.text  # the body's words, shown as text
    assert portal.status_code == 200, portal.text
    assert f'href="/portal/kb/{public}"' in portal.text and "<mark>" in portal.text
    assert internal not in portal.text and "hotline" not in portal.text and "escalation" not in portal.text
