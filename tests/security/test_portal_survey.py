"""The client's survey on the portal ticket (issue 17, item 4): the signed link answers in the client's name, so
only that ticket's client ever gets it. Another client gets a 404 for the ticket, lists carry no link, and
staff see the survey's state but never the link (an agent must not rate his own work through it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from services.feedback.domain import Policy, Resolution, choose_route, new_survey
from services.feedback.store import SurveyStore
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk

POLICY = Policy(key=b"portal-survey-test-key-0123456789", token_ttl=timedelta(days=2),
                auto_complete_after=timedelta(days=2), public_base_url="https://feedback.desk.example")
CLIENTS = {"TA": ClientRef(client_id="C-1", service_team_id="A"), "TB": ClientRef(client_id="C-2", service_team_id="B")}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        for ticket_id, client in CLIENTS.items():
            content = InboundContent(message_id=f"m-{ticket_id}", channel=Channel.email, external_id=f"<{ticket_id}@c>",
                                     text="The line is down", sender=Sender(email=f"{ticket_id}@c.example"),
                                     received_at=T0)
            await s.seed([(ticket_id, t.ReceiveMessage(channel=Channel.email, client=client, content=content))])
        yield s


async def surveyed(gw: Desk, ticket_id: str, public_id: str) -> str:
    """Feedback's own code writes its read model, as on a resolution; the client's link is what it stored."""
    res = Resolution(event_id=f"ev-{public_id}", ticket_id=ticket_id, ticket_number=1, resolved_at=gw.clock.now(),
                     agent_id="ann", problem="No line", solution="Port restarted",
                     client_id=CLIENTS[ticket_id].client_id)
    survey, _ = new_survey(res, choose_route(Channel.email, Sender(email="x@c.example")), POLICY,
                           doc_id=f"doc-{public_id}", public_id=public_id)
    await SurveyStore(gw.db).create(survey, None)
    assert survey.url is not None
    return survey.url


async def test_only_the_tickets_own_client_gets_the_survey_link(gw: Desk) -> None:
    url_a, url_b = await surveyed(gw, "TA", "aa" * 16), await surveyed(gw, "TB", "bb" * 16)
    c1, c2 = gw.token("u1", "client", client_id="C-1"), gw.token("u2", "client", client_id="C-2")
    own = await gw.http.get("/api/v1/tickets/TA", headers=c1)
    assert own.status_code == 200, own.text
    assert own.json()["survey"] == {"state": "pending", "url": url_a} and own.json()["language"] == "en"
    assert (await gw.http.get("/api/v1/tickets/TB", headers=c2)).json()["survey"]["url"] == url_b

    # another client: the ticket does not exist for him, and neither does its link
    for who, ticket_id, url in ((c2, "TA", url_a), (c1, "TB", url_b)):
        other = await gw.http.get(f"/api/v1/tickets/{ticket_id}", headers=who)
        assert other.status_code == 404 and url not in other.text
    # lists never carry a link, not even one's own
    for who in (c1, c2):
        listed = await gw.http.get("/api/v1/tickets", headers=who)
        assert listed.status_code == 200 and url_a not in listed.text and url_b not in listed.text
        assert all(item["survey"] is None for item in listed.json()["items"])
    # staff see whether the client was asked, never the link that answers in the client's name
    for user, role in (("ann", "specialist"), ("lea", "team_lead"), ("root", "administrator")):
        staff = gw.token(user, role)
        seen = await gw.http.get("/api/v1/tickets/TA", headers=staff)
        assert seen.status_code == 200 and seen.json()["survey"] == {"state": "pending", "url": None}
        everything = await gw.http.get("/api/v1/tickets", headers=staff)
        assert url_a not in everything.text and url_b not in everything.text


async def test_an_answered_survey_keeps_its_page_an_expired_one_has_none(gw: Desk) -> None:
    c1 = gw.token("u1", "client", client_id="C-1")
    await gw.db["feedback_surveys"].update_many({"ticket_id": "TA"}, {"$set": {"status": "answered",
                                                                                "answer": "good"}})
    answered = (await gw.http.get("/api/v1/tickets/TA", headers=c1)).json()["survey"]
    assert answered["state"] == "answered" and answered["url"]
    gw.clock.advance(timedelta(days=3))  # TB's link has expired, unanswered
    c2 = gw.token("u2", "client", client_id="C-2")
    assert (await gw.http.get("/api/v1/tickets/TB", headers=c2)).json()["survey"] == {"state": "expired", "url": None}
    await gw.db["feedback_surveys"].update_many({"ticket_id": "TB"}, {"$set": {"status": "cancelled"}})  # reopened
    assert (await gw.http.get("/api/v1/tickets/TB", headers=c2)).json()["survey"] == {"state": "none", "url": None}
