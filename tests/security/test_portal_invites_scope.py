"""Abuse of the portal's invitations, guide and feedback (issue 23, K3): who may invite whom, a link spent once, a
hostile guide rendered inert, markup in feedback kept as text, and the "own tickets only" right on every read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import pytest
import pytest_asyncio
from integration.gateway.portal_extras_support import (
    ADMIN,
    LEAD,
    SPECIALIST,
    accept,
    client_of,
    extras_desk,
    invitation_token,
    invite,
)
from integration.gateway.portal_links_support import mail_to

from tests.support.desk import Desk

OWN_ONLY: dict[str, Any] = {"extra": {"ticket_access": "own"}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with extras_desk(infra) as d:
        yield d


@pytest.mark.parametrize("who", [SPECIALIST, ("P-1", "client")])
async def test_a_specialist_or_a_client_cannot_invite(desk: Desk, who: tuple[str, str]) -> None:
    refused = await invite(desk, who, "P-1")
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert await desk.db["gateway_sign_in_links"].count_documents({"purpose": "invitation"}) == 0


async def test_a_lead_cannot_invite_a_contact_of_a_client_his_teams_do_not_serve(desk: Desk) -> None:
    for contact in ("P-2", "P-404"):  # another team's client, and nobody: the same refusal
        refused = await invite(desk, LEAD, contact)
        assert refused.status_code == 403, refused.text
    assert await desk.db["gateway_sign_in_links"].count_documents({"contact_id": "P-2", "purpose": "invitation"}) == 0
    assert (await invite(desk, ADMIN, "P-404")).status_code == 404


async def test_an_invitation_link_used_twice_is_gone_and_a_sign_in_door_does_not_take_it(desk: Desk) -> None:
    assert (await invite(desk, ADMIN, "P-2", tickets="own")).status_code == 202
    token = invitation_token(await mail_to(desk, "boris@c2.example"))
    wrong_door = await desk.http.post("/api/v1/portal/sign-in-links/redeem", json={"token": token})
    assert wrong_door.status_code == 410, "an invitation is not a sign-in link"
    assert (await accept(desk, token)).status_code == 200
    again = await accept(desk, token)
    assert again.status_code == 410 and again.headers["content-type"] == "application/problem+json"
    async for doc in desk.db["gateway_sign_in_links"].find({}):
        assert token not in str(doc)


async def test_rights_outside_the_allow_list_are_refused(desk: Desk) -> None:
    for rights in ({"tickets": "everyone"}, {"tickets": "own", "role": "administrator"}):
        answer = await desk.http.post("/api/v1/portal/invitations", headers=desk.token(*ADMIN),
                                      json={"contact_id": "P-1", "rights": rights})
        assert answer.status_code == 422, answer.text


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


async def test_hostile_markdown_in_the_guide_is_inert(desk: Desk) -> None:
    hostile = ("<script>alert(1)</script>\n\n<iframe src=https://evil.example></iframe>\n\n<img src=x onerror=alert(1)>"
               "\n\n[click](javascript:alert(1))\n\n<a href=https://ok.example onmouseover=alert(1)>x</a>")
    saved = await desk.http.put("/api/v1/admin/portal/guide", headers=desk.token(*ADMIN),
                                json={"ru": hostile, "en": hostile})
    assert saved.status_code == 200, saved.text
    shown = await desk.http.get("/api/v1/portal/guide?language=en", headers=client_of(desk, "P-1", "C-1"))
    parser = Elements()
    parser.feed(shown.json()["html"])
    for tag, attrs in parser.found:
        assert tag not in {"script", "iframe", "img"}, tag
        assert not [a for a in attrs if a.startswith("on")] and "javascript:" not in str(attrs.values())
    assert shown.json()["markdown"] == hostile, "the source is returned as text, as written"
    assert (await desk.http.put("/api/v1/admin/portal/guide", headers=desk.token(*LEAD),
                                json={"ru": "x", "en": "x"})).status_code == 403


async def test_feedback_with_markup_is_stored_and_returned_as_text_and_rate_limited(desk: Desk) -> None:
    markup = "<script>alert(1)</script><b onclick=x>bold</b>"
    sent = await desk.http.post("/api/v1/portal/feedback", headers=client_of(desk, "P-3", "C-2"),
                                json={"topic": "complaint", "text": markup})
    assert sent.status_code == 201 and sent.headers["content-type"] == "application/json"
    assert sent.json()["text"] == markup
    stored = await desk.db["gateway_portal_feedback"].find_one({"contact_id": "P-3"})
    assert stored is not None and stored["text"] == markup
    for who in (SPECIALIST, ("P-3", "client")):
        assert (await desk.http.get("/api/v1/portal/feedback", headers=desk.token(*who))).status_code == 403
    answers = [await desk.http.post("/api/v1/portal/feedback", headers=client_of(desk, "P-2", "C-2"),
                                    json={"topic": "other", "text": f"note {i}"}) for i in range(11)]
    assert [a.status_code for a in answers].count(429) >= 1 and answers[-1].status_code == 429
    assert answers[-1].headers["content-type"] == "application/problem+json" and "retry-after" in answers[-1].headers


async def test_the_own_tickets_only_right_holds_on_every_ticket_read(desk: Desk) -> None:
    carl = client_of(desk, "P-3", "C-2", **OWN_ONLY)
    listed = await desk.http.get("/api/v1/tickets", headers=carl)
    assert [item["id"] for item in listed.json()["items"]] == ["TC"]
    assert (await desk.http.get("/api/v1/tickets?client_id=C-2", headers=carl)).json()["items"][0]["id"] == "TC"
    assert (await desk.http.get("/api/v1/tickets/TC?history=true", headers=carl)).status_code == 200
    for path in ("/api/v1/tickets/TD", "/api/v1/tickets/TB?history=true", "/api/v1/tickets/TD/client"):
        assert (await desk.http.get(path, headers=carl)).status_code in {403, 404}, path
    wrote = await desk.http.post("/api/v1/portal/tickets/TD/messages", headers=carl, json={"text": "hi"})
    assert wrote.status_code == 404
    upload = await desk.http.post("/api/v1/tickets/TD/attachments", headers=carl,
                                  files={"file": ("a.txt", b"hello", "text/plain")})
    assert upload.status_code in {403, 404}
    # The same contact with the organisation's right sees the organisation's tickets.
    organisation = await desk.http.get("/api/v1/tickets", headers=client_of(desk, "P-3", "C-2"))
    assert {item["id"] for item in organisation.json()["items"]} == {"TB", "TC", "TD"}
