"""The console's lead pages of the portal (issue 23) on a real desk: the ledger and the gateway on the real broker and
database, the gateway served over HTTP and the console in front with its development sign-in. Lea leads team A
(client C-1, contact Anna); Orbita (C-2) is team B's. A lead invites his client's contact and reads his clients'
feedback; another team's contact is refused beside the field; a specialist is refused by the console and the
gateway alike, and reclassifies a ticket by choosing a node of the tree (issue 19)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape

import httpx
import pytest_asyncio
from integration.gateway.gateway_support import seed_directory

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.classification import Subtopic, Topic, TopicType
from shared.directory.contacts import Client, ContactPerson
from shared.runtime.clock import SystemClock
from tests.support.console_client import HTML, dev_sign_in
from tests.support.desk import Desk, running_desk
from tests.support.testing import isolated_env, serving

WAIT = 60.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    env = {**infra, **isolated_env()}
    async with running_desk(env, SystemClock(), ["gateway"], front="gateway", http_timeout=WAIT) as d:
        await seed_directory(d.db)
        await d.put(Client(id="C-1", name="Vector", service_team_id="A"),
                    Client(id="C-2", name="Orbita", service_team_id="B"),
                    ContactPerson(id="P-1", client_id="C-1", name="Anna", emails=["anna@c1.example"]),
                    ContactPerson(id="P-2", client_id="C-2", name="Boris", emails=["boris@c2.example"]),
                    Topic(id="internet", name={"en": "Internet"}, types=[TopicType(type="complaint", subtopics=[
                        Subtopic(id="no_connection", name={"en": "No connection"})])]))
        content = InboundContent(message_id="m-TR", channel=Channel.email, received_at=d.clock.now(),
                                 external_id="<TR@c>", text="Down", sender=Sender(email="anna@c1.example"))
        await d.seed([("TR", t.ReceiveMessage(channel=Channel.email, content=content,
                                              client=ClientRef(client_id="C-1", service_team_id="A")))])
        async with serving(d.app) as gateway_url, serving(create_app(ConsoleSettings(
                gateway_url=gateway_url, dev_sign_in=True)), lifespan="on") as url:
            yield d, url


@asynccontextmanager
async def browser(url: str, person: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        await dev_sign_in(http, person)
        yield http


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def options(html: str, select: str) -> dict[str, str]:
    """A select's options: label → value."""
    block = re.search(rf'<select id="{select}".*?</select>', html, re.S)
    assert block, html[:2000]
    return {unescape(label): unescape(value)
            for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', block.group(0))}


async def test_a_lead_invites_his_clients_contact_and_another_teams_is_refused_beside_the_field(
        desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with browser(url, "agent:lea") as http:
        page = await http.get("/team/invitations", headers=HTML)
        assert page.status_code == 200, page.text
        assert 'href="/team/invitations"' in page.text and 'href="/team/feedback"' in page.text  # in his nav
        assert options(page.text, "client_id") == {"Vector (C-1)": "C-1"}  # not team B's Orbita
        page = await http.get("/team/invitations", params={"client_id": "C-1"}, headers=HTML)
        contacts = options(page.text, "contact")
        assert list(contacts) == ["Anna — anna@c1.example"]
        sent = await http.post("/team/invitations", headers=HTML, data={
            "csrf_token": csrf(page.text), "client_id": "C-1", "contact": contacts["Anna — anna@c1.example"],
            "tickets": "own", "language": "en"})
        assert sent.status_code == 200, sent.text
        assert "An invitation was sent to anna@c1.example. The link works once, until" in sent.text
        # a forged choice naming team B's contact: the gateway refuses, the console says so next to the field
        forged = await http.post("/team/invitations", headers=HTML, data={
            "csrf_token": csrf(page.text), "client_id": "C-1", "contact": "contact_id=P-2&email=boris%40c2.example",
            "tickets": "own"})
        assert forged.status_code == 403, forged.text
        assert 'id="contact-error">This contact is not a contact of a client your teams serve.' in forged.text
        assert "invitation was sent" not in forged.text


async def test_a_lead_reads_his_clients_feedback_newest_first_as_text(desk: tuple[Desk, str]) -> None:
    d, url = desk
    for contact, client, text in (("P-1", "C-1", "first <b>bold</b>"), ("P-2", "C-2", "Orbita's secret"),
                                  ("P-1", "C-1", "<script>alert(1)</script> second")):
        sent = await d.http.post("/api/v1/portal/feedback", json={"topic": "suggestion", "text": text, "rating": 4},
                                 headers=d.token(contact, "client", client_id=client))
        assert sent.status_code == 201, sent.text
    async with browser(url, "agent:lea") as http:
        page = await http.get("/team/feedback", headers=HTML)
    assert page.status_code == 200, page.text
    assert "Orbita's secret" not in page.text and "Orbita&#39;s secret" not in page.text  # team B's client
    assert "<script>alert(1)" not in page.text and "<b>bold" not in page.text
    second, first = page.text.index("&lt;script&gt;alert(1)&lt;/script&gt; second"), \
        page.text.index("first &lt;b&gt;bold&lt;/b&gt;")
    assert second < first  # newest first
    assert "Vector" in page.text and "A suggestion" in page.text


async def test_a_specialist_is_refused_by_the_console_and_by_the_gateway(desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with browser(url, "agent:ann") as http:
        home = await http.get("/queues/offers", headers=HTML)
        assert 'href="/team/invitations"' not in home.text and 'href="/team/feedback"' not in home.text
        for path in ("/team/invitations", "/team/feedback"):
            page = await http.get(path, headers=HTML)
            assert page.status_code == 403 and "team leads and administrators only" in page.text, path
    ann = d.token("ann", "specialist", teams=["A"])
    invite = await d.http.post("/api/v1/portal/invitations", json={"contact_id": "P-1"}, headers=ann)
    feedback = await d.http.get("/api/v1/portal/feedback", headers=ann)
    assert (invite.status_code, feedback.status_code) == (403, 403)


async def test_a_specialist_reclassifies_by_choosing_a_node_of_the_tree(desk: tuple[Desk, str]) -> None:
    d, url = desk
    async with browser(url, "agent:ann") as http:
        page = await http.get("/tickets/TR", headers=HTML)
        assert page.status_code == 200, page.text
        nodes = options(page.text, "classify-node")
        assert list(nodes) == ["Internet", "Internet › Complaint", "Internet › Complaint › No connection"]
        done = await http.post("/tickets/TR/classify", headers=HTML, follow_redirects=False, data={
            "csrf_token": csrf(page.text), "node": nodes["Internet › Complaint › No connection"],
            "ticket_type": "complaint", "urgency": "urgent"})
        assert done.status_code == 303, done.text
    await d.wait("TR", "TicketClassified", timeout=WAIT)
    classification = {k: v for k, v in (await d.ticket("TR"))["classification"].items() if v is not None}
    assert classification == {"topic": "internet", "type": "complaint", "subtopic": "no_connection"}
