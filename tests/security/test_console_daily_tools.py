"""Attack replay on the console's daily tools (issue 22, W4), against the real ledger, routing, gateway and search:
every new POST (tags, fields, merge, split, apply a macro, write or delete a macro) does nothing without this
session's CSRF token; a search never shows, counts or links a ticket the user cannot open (another team's, another
client's) and gives a client portal links only; markup in a tag, a field value or a searched message renders inert."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from integration.console.daily_tools_desk import WAIT, ToolsDesk, signed_in, tools_desk

from shared.contracts.schemas.common import ClientRef
from tests.support.console_client import HTML
from tests.support.testing import eventually


def shows_s2(html: str) -> bool:
    """S2 as a word: a page's random CSP nonce may hold the letters (it once read ``…fS2Sf…``)."""
    return re.search(r"\bS2\b", html) is not None

TEAM_A = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A")
TEAM_B = ClientRef(client_id="C-2", client_name="Orbit", service_team_id="B")
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
REMARK = {"id": "remark", "label": {"en": "Remark", "ru": "Примечание"}, "kind": "text"}
TICKETS = {"S1": (f"quokkafish in team A {XSS}", TEAM_A), "S2": ("quokkafish secret of team B", TEAM_B)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(infra: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ToolsDesk]:
    async with tools_desk(infra, tmp_path_factory.mktemp("w4-sec-index"), [REMARK], TICKETS) as desk:
        yield desk


async def test_every_new_post_needs_this_sessions_csrf_token(console: ToolsDesk) -> None:
    posts = {"/tickets/S1/tags": {"add": "forged"}, "/tickets/S1/fields": {"remark": "forged"},
             "/tickets/S1/merge": {"target": "S2"}, "/tickets/S1/split": {"message_ids": "m"},
             "/tickets/S1/macro": {"macro_id": "M-1"}, "/macros": {"name": "forged", "add_tags": "forged"},
             "/macros/M-1": {"name": "forged"}, "/macros/M-1/delete": {}}
    async with signed_in(console) as (ann, csrf), signed_in(console, "agent:bob") as (_, bobs):
        for path, data in posts.items():
            for token in ({}, {"csrf_token": bobs}, {"csrf_token": csrf + "x"}):
                resp = await ann.post(path, data={**data, **token}, headers=HTML)
                assert resp.status_code == 403, (path, token, resp.text)
            if path.startswith("/tickets/"):  # no GET does a ticket's action
                assert (await ann.get(path, headers=HTML)).status_code in (404, 405)
        ticket = await console.desk.ticket("S1")
        assert ticket["tags"] == [] and not ticket.get("custom_fields") and not ticket.get("merged_into")
        assert "forged" not in (await ann.get("/macros", headers=HTML)).text


async def test_a_search_never_shows_or_links_a_ticket_the_user_cannot_open(console: ToolsDesk) -> None:
    async with signed_in(console, "admin") as (admin, _):
        async def both() -> bool:
            page = (await admin.get("/search", params={"q": "quokkafish"}, headers=HTML)).text
            return 'href="/tickets/S1"' in page and 'href="/tickets/S2"' in page
        await eventually(both, timeout=WAIT, message="both tickets searchable")
    async with signed_in(console) as (ann, _):
        page = await ann.get("/search", params={"q": "quokkafish"}, headers=HTML)
        assert 'href="/tickets/S1"' in page.text and not shows_s2(page.text) and "secret" not in page.text
        assert "Found: 1" in page.text
        walk = await ann.get("/search", params={"q": "quokkafish", "line": "../admin"}, headers=HTML)
        assert walk.status_code == 200 and not shows_s2(walk.text)
        other = await ann.get("/search", params={"q": "secret"}, headers=HTML)
        assert "Nothing found." in other.text and "/tickets/S2" not in other.text


async def test_markup_in_a_tag_a_field_value_or_a_search_fragment_renders_inert(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, csrf):
        tag = await ann.post("/tickets/S1/tags", data={"csrf_token": csrf, "add": XSS}, headers=HTML)
        assert tag.status_code == 422 and "<script>alert" not in tag.text and "<img src=x" not in tag.text
        field = await ann.post("/tickets/S1/fields", data={"csrf_token": csrf, "remark": XSS})
        assert field.status_code == 303, field.text
        page = await ann.get("/tickets/S1", headers=HTML)
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
        assert "<script>alert" not in page.text and "<img src=x" not in page.text

        async def found() -> str | None:
            html = (await ann.get("/search", params={"q": "quokkafish alert"}, headers=HTML)).text
            return html if 'href="/tickets/S1"' in html else None
        results = await eventually(found, timeout=WAIT, message="S1 searchable")
        assert "<mark>" in results and ("&lt;script&gt;" in results or "&lt;img" in results)
        assert "<script>alert" not in results and "<img src=x" not in results
