"""The console's knowledge base pages, attacked through the console against a real desk (ledger, routing, knowledge,
gateway on the real broker and database): every new state-changing route refuses a request without the session's
CSRF token and nothing reaches the desk; an internal article never reaches a client's page (list, search, its id,
a suggestion while typing); hostile Markdown in an article is inert on the staff's and the client's pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest_asyncio
from fastapi.routing import APIRoute
from integration.console.kb_console_support import (
    ARTICLES,
    WAIT,
    article_stats,
    kb_console_desk,
    offered_ticket,
    published,
)

from services.console.routes import knowledge, knowledge_edit, knowledge_ticket, news, portal_help, portal_kb
from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk
from tests.support.markdown_attacks import HOSTILE_MARKDOWN, active_parts

NEW_MODULES = (knowledge, knowledge_edit, knowledge_ticket, news, portal_help, portal_kb)
BODY = re.compile(r'<div class="kb-body">(.*?)</div>', re.S)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with kb_console_desk(infra) as found:
        yield found


def _posts() -> set[str]:
    return {r.path for m in NEW_MODULES for r in m.router.routes if isinstance(r, APIRoute) and "POST" in r.methods}


async def test_every_new_post_refuses_a_missing_or_foreign_csrf_token_and_changes_nothing(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    article_id = await published(d, f"Reset the password {uuid4().hex[:6]}", "Use the reset link.")
    ticket_id = await offered_ticket(d, "Password", "I cannot reset my password")
    before = await article_stats(d, article_id)
    version = (await d.http.get(f"{ARTICLES}/{article_id}", headers=d.token("root", "administrator"))).json()
    posts = {"/kb/new": {"title_en": "planted", "visibility": "public"},
             "/kb/articles/{article_id}/edit": {"title_en": "defaced", "visibility": "public"},
             "/kb/articles/{article_id}/workflow": {"action": "archive"},
             "/kb/articles/{article_id}/vote": {"helpful": "no"},
             "/tickets/{ticket_id}/articles/{article_id}": {"mode": "link"},
             "/news/new": {"title_en": "planted", "audience": "both", "publish_at": "2026-01-01T00:00"},
             "/news/{news_id}/edit": {"title_en": "defaced", "audience": "both", "publish_at": "2026-01-01T00:00"},
             "/portal/kb/{article_id}/vote": {"helpful": "no"}, "/portal/kb/{article_id}/solved": {},
             "/portal/feedback": {"topic": "other", "text": "planted"}, "/portal/guide/edit": {"en": "defaced"},
             "/portal/invitation": {"token": "A" * 43}}
    assert set(posts) == _posts(), "every new POST route is attacked here"
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as admin, \
            httpx.AsyncClient(base_url=url, timeout=WAIT) as petra:
        await dev_sign_in(admin, "admin")
        await dev_sign_in(petra, "contact:P-1")
        for path, data in posts.items():
            target = path.format(article_id=article_id, ticket_id=ticket_id, news_id="N-1")
            who = petra if path.startswith("/portal/") else admin
            for token in (None, "forged-" + "x" * 30):
                sent = data | ({"csrf_token": token} if token else {})
                if path == "/portal/invitation":  # no session yet: the double-submit form token instead
                    sent = data | ({"form_token": token} if token else {})
                resp = await who.post(target, data=sent, headers=HTML)
                assert resp.status_code in (403, 422), (path, token, resp.status_code)
                assert "fl_session" in who.cookies and "Traceback" not in resp.text
    assert await article_stats(d, article_id) == before
    after = (await d.http.get(f"{ARTICLES}/{article_id}", headers=d.token("root", "administrator"))).json()
    assert (after["version"], after["status"]) == (version["version"], "published")
    titles = (await d.http.get(ARTICLES, params={"q": "planted"}, headers=d.token("root", "administrator"))).json()
    assert titles["items"] == []


async def test_an_internal_article_never_reaches_a_clients_page_not_even_as_a_suggestion(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    uid = uuid4().hex[:6]
    secret = f"Tariff override codes {uid}"
    internal = await published(d, secret, "Staff only: the override codes are 4711 and 0815.", "internal")
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as petra:
        await dev_sign_in(petra, "contact:P-1")
        pages = [await petra.get(path, params=params, headers=HTML) for path, params in (
            ("/portal/kb", {}), ("/portal/kb", {"q": f"tariff override codes {uid}"}), ("/portal", {}),
            (f"/portal/kb/{internal}", {}), ("/portal/suggestions", {"text": f"tariff override codes {uid}"}))]
        for n, page in enumerate(pages):
            assert secret not in page.text and "4711" not in page.text, page.url
            assert n == 3 or internal not in page.text, page.url  # the id page names only the path the client asked
        assert pages[3].status_code == 404
        staff_page = await petra.get(f"/kb/articles/{internal}", headers=HTML)
        assert staff_page.status_code == 403 and "4711" not in staff_page.text
        assert (await petra.get("/kb", headers=HTML)).headers["location"] == "/portal/kb"
        assert (await petra.get("/tickets/T-x/suggestions", headers=HTML)).status_code == 403


async def test_hostile_markdown_in_an_article_is_inert_on_the_staffs_and_the_clients_pages(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    article_id = await published(d, f"Hostile {uuid4().hex[:6]} <script>alert(1)</script>",
                                 "\n\n".join(HOSTILE_MARKDOWN))
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as admin, \
            httpx.AsyncClient(base_url=url, timeout=WAIT) as petra:
        await dev_sign_in(admin, "admin")
        await dev_sign_in(petra, "contact:P-1")
        for page in (await admin.get(f"/kb/articles/{article_id}", headers=HTML),
                     await petra.get(f"/portal/kb/{article_id}", headers=HTML)):
            assert page.status_code == 200, page.text
            body = BODY.search(page.text)
            assert body and "overlay" in body.group(1), "the text is kept, as text"
            assert active_parts(body.group(1)) == [], page.url
            assert re.findall(r"<script[^>]*>", page.text) == [re.search(r'<script src="/static/app\.js\?v=\w+" '
                                                                        r'defer>', page.text).group(0)]
            assert "<iframe" not in page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # the title, escaped
            assert "default-src 'self'" in page.headers["content-security-policy"]

