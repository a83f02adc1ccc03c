"""Attack replay on the console's ticket page (issue 19, W1), against the real ledger and gateway: a form posted
without this session's CSRF token changes nothing; a specialist cannot open, act on or download from a ticket of
another team through the console (the gateway's 404, in words); a client's message carrying markup renders inert;
ids that would walk other gateway paths never reach it; an oversize body is refused before it is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from services.console.app import create_app
from services.console.session import COOKIE, Sessions
from services.console.settings import ConsoleSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk
from tests.support.testing import serving

HTML = {"accept": "text/html"}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CLIENT_A = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A")
CLIENT_B = ClientRef(client_id="C-2", client_name="Orbit", service_team_id="B")


@dataclass
class Console:
    desk: Desk
    url: str
    sessions: Sessions

    def signed_in(self, user: str, role: str = "specialist") -> tuple[httpx.AsyncClient, str]:
        """A browser of ``user``: the console's cookie around the user's own gateway token; returns its CSRF token."""
        token = self.desk.token(user, role)["Authorization"].removeprefix("Bearer ")
        session = self.sessions.new(token, user, role, name=user.title())
        http = httpx.AsyncClient(base_url=self.url, timeout=60, cookies={COOKIE: self.sessions.seal(session)})
        return http, session.csrf


def _message(mid: str, text: str, name: str) -> InboundContent:
    return InboundContent(message_id=mid, channel=Channel.email, external_id=f"<{mid}@x>", text=text,
                          subject=f"Printer {XSS}", sender=Sender(email=f"{mid}@client.example", name=name),
                          received_at=T0)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(infra: dict[str, str]) -> AsyncIterator[Console]:
    async with stack(infra) as d:
        await d.seed([("TA", t.ReceiveMessage(channel=Channel.email, client=CLIENT_A,
                                               content=_message("ma", f"help {XSS}", f"Eve {XSS}"))),
                      ("TA", t.OfferTicket(agent_ids=["ann", "bob"], line="first", service_team_id="A")),
                      ("TB", t.ReceiveMessage(channel=Channel.email, client=CLIENT_B,
                                               content=_message("mb", "team B's secret", "Orbit"))),
                      ("TB", t.OfferTicket(agent_ids=["carol"], line="first", service_team_id="B"))])
        async with serving(d.app) as gateway:
            app = create_app(ConsoleSettings(gateway_url=gateway))
            async with serving(app, lifespan="on") as url:
                yield Console(d, url, app.state.sessions)


async def test_a_post_without_this_sessions_csrf_token_claims_nothing(console: Console) -> None:
    ann, csrf = console.signed_in("ann")
    _, bobs = console.signed_in("bob")
    async with ann:
        for data, headers in (({}, {}), ({"csrf_token": bobs}, {}), ({}, {"X-CSRF-Token": bobs}),
                              ({"csrf_token": csrf + "x"}, {})):
            resp = await ann.post("/tickets/TA/claim", data=data, headers={**HTML, **headers})
            assert resp.status_code == 403, (data, headers, resp.text)
        assert (await console.desk.ticket("TA"))["status"] == "offered"
        assert (await ann.get("/tickets/TA/claim")).status_code in (404, 405)  # no GET changes anything


async def test_a_specialist_cannot_reach_another_teams_ticket_through_the_console(console: Console) -> None:
    ann, csrf = console.signed_in("ann")
    async with ann:
        page = await ann.get("/tickets/TB", headers=HTML)
        assert page.status_code == 404 and "Not found: no ticket TB" in page.text
        assert "secret" not in page.text and "Orbit" not in page.text
        assert (await ann.get("/tickets/TB/live", headers=HTML)).status_code == 404
        assert (await ann.get("/tickets/TB/attachments/any-file", headers=HTML)).status_code == 404
        claim = await ann.post("/tickets/TB/claim", data={"csrf_token": csrf}, headers=HTML)
        assert claim.status_code == 404 and "secret" not in claim.text
        note = await ann.post("/tickets/TB/note", data={"csrf_token": csrf, "text": "mine now"}, headers=HTML)
        assert note.status_code == 404
    doc = await console.desk.ticket("TB")
    assert doc["status"] == "offered" and doc.get("assignee_id") is None


async def test_markup_in_a_clients_message_renders_inert(console: Console) -> None:
    ann, _ = console.signed_in("ann")
    async with ann:
        page = await ann.get("/tickets/TA", headers=HTML)
    assert page.status_code == 200, page.text
    html = page.text
    assert "help &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # shown as text, in the thread
    assert "<script>alert" not in html and "<img src=x" not in html  # never markup of the page
    assert html.count("<script") == 1  # only app.js, from our origin
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_ids_that_walk_other_gateway_paths_and_oversize_bodies_are_refused(console: Console) -> None:
    ann, csrf = console.signed_in("ann")
    async with ann:
        # percent-encoded, so the client sends them as they are (a bare ".." it would resolve itself)
        for path in ("/tickets/%2e%2e", "/tickets/TA/attachments/%2e%2e", "/tickets/TA%3Fhistory=true",
                     "/tickets/TA/attachments/f%3Fx=1", "/tickets/%2e%2e/live"):
            assert (await ann.get(path, headers=HTML)).status_code in (404, 405), path
        walked = await ann.post("/tickets/%2e%2e/claim", data={"csrf_token": csrf}, headers=HTML)
        assert walked.status_code == 404
        big = await ann.post("/tickets/TA/hold", content=b"reason=" + b"x" * 2_000_000, headers={
            **HTML, "content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf})
        assert big.status_code == 413
    assert (await console.desk.ticket("TA"))["status"] == "offered"
