"""The client portal's boundaries, replayed through the console against a real desk (ledger, notify, gateway on the
real broker and database): a client signed in by e-mailed link reaches only his organisation's tickets and never a
note; a used link signs nobody in again, and another site cannot spend or plant one; a client session gets no
staff page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from integration.gateway.portal_links_support import mail_to, portal_desk, token_in

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from tests.support.desk import Desk
from tests.support.testing import serving

HTML = {"accept": "text/html"}
NOTE = "internal: this client is on the watch list"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with portal_desk(infra) as d, serving(d.app) as gateway_url, \
            serving(create_app(ConsoleSettings(gateway_url=gateway_url)), lifespan="on") as url:
        yield d, url


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def link_for(d: Desk, http: httpx.AsyncClient, email: str, count: int) -> str:
    """Ask for a link on the portal's sign-in page; the token of the ``count``-th mail to ``email``."""
    page = await http.get("/portal/sign-in", headers=HTML)
    asked = await http.post("/portal/sign-in", data={"email": email, "form_token": form_token(page)}, headers=HTML)
    assert asked.status_code == 200 and "Check your mail" in asked.text, asked.text
    return token_in(await mail_to(d, email, count))


async def confirm(http: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await http.get(f"/portal/link?token={token}", headers=HTML)
    assert page.status_code == 200 and "fl_session" not in http.cookies  # opening the link signs nobody in
    return await http.post("/portal/link", data={"token": token, "form_token": form_token(page)}, headers=HTML)


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_a_client_reaches_only_his_organisations_tickets_and_never_a_note(desk: tuple[Desk, str]) -> None:
    d, url = desk
    admin = d.token("boss", "administrator")
    noted = await d.http.post("/api/v1/tickets/TA/notes", json={"text": NOTE}, headers=admin)
    assert noted.status_code in (200, 202), noted.text
    await d.wait("TA", "NoteAdded", timeout=60)
    async with httpx.AsyncClient(base_url=url, timeout=60) as anna:
        assert (await confirm(anna, await link_for(d, anna, "anna@c1.example", 1))).status_code == 303
        listed = await anna.get("/portal", headers=HTML)
        assert 'href="/portal/tickets/TA"' in listed.text and "/portal/tickets/TB" not in listed.text
        own = await anna.get("/portal/tickets/TA", headers=HTML)
        assert own.status_code == 200 and "The line is down" in own.text and NOTE not in own.text

        before = (await d.ticket("TB"))["version"]
        other = await anna.get("/portal/tickets/TB", headers=HTML)
        assert other.status_code == 404 and "Not found" in other.text and "The line is down" not in other.text
        wrote = await anna.post("/portal/tickets/TB/messages", data={"csrf_token": csrf(own), "text": "mine now"},
                                headers=HTML)
        assert wrote.status_code == 404 and "Traceback" not in wrote.text
        assert (await anna.get("/portal/tickets/TB/attachments/f1", headers=HTML)).status_code == 404
        for walk in ("/portal/tickets/..%2Fqueues%2Foffers", "/portal/tickets/TA/attachments/..%2F..%2Fme"):
            assert (await anna.get(walk, headers=HTML)).status_code == 404, walk
        assert (await d.ticket("TB"))["version"] == before, "nothing reached another client's ticket"


async def test_a_used_link_signs_nobody_in_and_another_site_cannot_spend_one(desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=60) as boris, \
            httpx.AsyncClient(base_url=url, timeout=60) as mallory:
        token = await link_for(d, boris, "boris@c2.example", 1)
        # another site posting the form: no form cookie of this browser, so nothing is spent or planted
        planted = await mallory.post("/portal/link", data={"token": token, "form_token": "guess"}, headers=HTML)
        assert planted.status_code == 403 and "fl_session" not in mallory.cookies

        assert (await confirm(boris, token)).status_code == 303 and "fl_session" in boris.cookies
        assert (await boris.get("/portal", headers=HTML)).status_code == 200

        again = await confirm(mallory, token)
        assert again.status_code == 410 and "used or has expired" in again.text
        assert "fl_session" not in mallory.cookies
        assert (await mallory.get("/portal", headers=HTML, follow_redirects=False)).status_code == 303


async def test_a_client_session_gets_no_staff_page(desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with httpx.AsyncClient(base_url=url, timeout=60) as carl:
        assert (await confirm(carl, await link_for(d, carl, "carl@c2.example", 1))).status_code == 303
        portal = await carl.get("/portal", headers=HTML)
        for path in ("/queues/offers", "/queues/mine/rows", "/team", "/admin", "/admin/directories/lines",
                     "/tickets/TA"):
            page = await carl.get(path, headers=HTML, follow_redirects=False)
            assert page.status_code in (403, 404), (path, page.status_code)
            assert "Something went wrong" in page.text and "Traceback" not in page.text, path
        claimed = await carl.post("/tickets/TB/claim", data={"csrf_token": csrf(portal)}, headers=HTML)
        assert claimed.status_code in (403, 404) and "Traceback" not in claimed.text
        assert (await d.ticket("TB")).get("assignee_id") is None
