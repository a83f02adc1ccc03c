"""The portal beside tickets (issue 23, K3) on the real broker and database: the service catalogue a client may
choose from, invitations of a client's contacts, the onboarding guide and the feedback form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import jwt
import pytest_asyncio
from integration.gateway.portal_extras_support import (
    ADMIN,
    LEAD,
    accept,
    client_of,
    extras_desk,
    invitation_token,
    invite,
)
from integration.gateway.portal_links_support import ask, bearer, mail_to, redeem, token_in

from tests.support.desk import Desk


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with extras_desk(infra) as d:
        yield d


def tree_ids(items: list[dict]) -> dict[str, list[str]]:
    return {s["id"]: [c["id"] for c in s["sub_services"]] for s in items}


async def test_a_client_sees_the_catalogue_his_category_may_use(desk: Desk) -> None:
    plain = await desk.http.get("/api/v1/portal/catalogue", headers=client_of(desk, "P-1", "C-1"))
    assert plain.status_code == 200, plain.text
    assert tree_ids(plain.json()["items"]) == {"net": ["net-down", "net-slow"], "tv": []}
    net = plain.json()["items"][0]
    assert net["name"] == {"ru": "Интернет", "en": "Internet"}
    assert net["description"] == {"ru": "Подключение и скорость", "en": "Connection and speed"}
    premium = await desk.http.get("/api/v1/portal/catalogue", headers=client_of(desk, "P-2", "C-2"))
    assert tree_ids(premium.json()["items"]) == {"net": ["net-down", "net-slow"], "tv": [], "vip": ["vip-call"]}


async def test_a_client_opens_a_request_naming_a_service_and_the_ticket_carries_it(desk: Desk) -> None:
    opened = await desk.http.post("/api/v1/portal/tickets", headers=client_of(desk, "P-1", "C-1"), json={
        "subject": "Down again", "text": "No connection since the morning", "service_id": "net",
        "sub_service_id": "net-down"})
    assert opened.status_code == 200, opened.text
    ticket = await desk.settled(opened.json()["id"], lambda d: d.get("classification"), "the classification")
    assert ticket["classification"]["service_id"] == "net"
    assert ticket["classification"]["sub_service_id"] == "net-down"
    assert ticket["client"]["contact_id"] == "P-1", "a portal request is the contact's own"

    for body, words in (({"service_id": "vip"}, "vip"), ({"service_id": "nothing"}, "nothing"),
                        ({"service_id": "tv", "sub_service_id": "net-down"}, "net-down"),
                        ({"sub_service_id": "net-down"}, "service_id")):
        refused = await desk.http.post("/api/v1/portal/tickets", headers=client_of(desk, "P-1", "C-1"),
                                       json={"subject": "s", "text": "t", **body})
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json" and words in refused.json()["detail"]


async def test_an_invitation_mail_arrives_its_link_works_once_and_the_account_sees_only_its_own(desk: Desk) -> None:
    invited = await invite(desk, ADMIN, "P-3", tickets="own")
    assert invited.status_code == 202, invited.text
    assert invited.json()["email"] == "carl@c2.example" and invited.json()["rights"] == {"tickets": "own"}
    mail = await mail_to(desk, "carl@c2.example")
    assert mail.subject == "You are invited to the support portal" and "Orbita" in mail.text, mail.text
    token = invitation_token(mail)

    accepted = await accept(desk, token)
    assert accepted.status_code == 200, accepted.text
    access = accepted.json()["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["client_id"], claims["ticket_access"]) == \
        ("P-3", "client", "C-2", "own")
    listed = await desk.http.get("/api/v1/tickets", headers=bearer(access))
    assert [item["id"] for item in listed.json()["items"]] == ["TC"]
    assert (await accept(desk, token)).status_code == 410

    account = await desk.db["gateway_portal_accounts"].find_one({"_id": "P-3"})
    assert account is not None and (account["client_id"], account["rights"], account["invited_by"]) == \
        ("C-2", {"tickets": "own"}, "root")

    # A later sign-in by mailed link carries the rights the administrator set.
    assert (await ask(desk, "carl@c2.example", "en")).status_code == 202
    signed_in = await redeem(desk, token_in(await mail_to(desk, "carl@c2.example", count=2)))
    assert jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})["ticket_access"] == "own"


async def test_an_invitation_expires(desk: Desk) -> None:
    assert (await invite(desk, LEAD, "P-1", tickets="organisation", language="ru")).status_code == 202
    mail = await mail_to(desk, "anna@c1.example")
    assert mail.subject == "Приглашение на портал поддержки", mail.subject
    desk.clock.advance(timedelta(hours=72, seconds=1))  # type: ignore[attr-defined]
    expired = await accept(desk, invitation_token(mail))
    assert expired.status_code == 410 and expired.headers["content-type"] == "application/problem+json"


async def test_the_guide_an_administrator_writes_shows_to_clients(desk: Desk) -> None:
    saved = await desk.http.put("/api/v1/admin/portal/guide", headers=desk.token(*ADMIN), json={
        "ru": "# Добро пожаловать\n\nОткройте **новую заявку**.", "en": "# Welcome\n\nOpen a **new request**."})
    assert saved.status_code == 200, saved.text
    for language, html in (("en", "<h1>Welcome</h1>\n<p>Open a <strong>new request</strong>.</p>"),
                           ("ru", "<h1>Добро пожаловать</h1>")):
        shown = await desk.http.get(f"/api/v1/portal/guide?language={language}",
                                    headers=client_of(desk, "P-1", "C-1"))
        assert shown.status_code == 200, shown.text
        assert html in shown.json()["html"] and shown.json()["language"] == language


async def test_feedback_lands_and_a_lead_reads_his_clients(desk: Desk) -> None:
    for contact, client, text in (("P-1", "C-1", "The portal is great"), ("P-2", "C-2", "Please add SMS")):
        sent = await desk.http.post("/api/v1/portal/feedback", headers=client_of(desk, contact, client),
                                    json={"topic": "suggestion", "text": text, "rating": 5})
        assert sent.status_code == 201, sent.text
        desk.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]  # "newest" is by time, not by id
    lead = await desk.http.get("/api/v1/portal/feedback", headers=desk.token(*LEAD))
    assert lead.status_code == 200, lead.text
    assert [(i["client_id"], i["contact_id"], i["text"]) for i in lead.json()["items"]] == \
        [("C-1", "P-1", "The portal is great")]
    admin = await desk.http.get("/api/v1/portal/feedback?limit=1", headers=desk.token(*ADMIN))
    assert [i["text"] for i in admin.json()["items"]] == ["Please add SMS"], "newest first"
    more = await desk.http.get(f"/api/v1/portal/feedback?limit=1&cursor={admin.json()['next_cursor']}",
                               headers=desk.token(*ADMIN))
    assert [i["text"] for i in more.json()["items"]] == ["The portal is great"]
