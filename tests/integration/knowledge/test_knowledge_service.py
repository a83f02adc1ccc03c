"""The knowledge base on the real broker and database (issue 23): the ledger, the knowledge service and the gateway
in one desk. A draft stays hidden until published, suggestions find the article a ticket's text matches, views and
votes count once per person, a search finding nothing lands in the content-gap report, news shows only between its
dates, and a linked ticket is marked when its client writes again or it is resolved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from integration.knowledge.knowledge_support import (
    ADMIN,
    ARTICLES,
    CLIENT_1,
    CLIENT_2,
    LEAD,
    SPECIALIST,
    article,
    as_,
    client_message,
    knowledge_desk,
    listed,
    open_ticket,
    read,
    step,
    write,
)

from shared.contracts.collections import KNOWLEDGE_LINKS
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ClientRef
from tests.support.desk import Desk
from tests.support.testing import eventually

TEAM_A = ClientRef(client_id="C-1", service_team_id="A")
WAIT = 60.0  # the machine is loaded: the ceiling, not what is waited


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with knowledge_desk(infra) as d:
        yield d


async def test_a_draft_is_hidden_from_clients_and_agents_until_it_is_published(desk: Desk) -> None:
    article_id = await write(desk, article("Resetting the modem", "Hold the reset button for ten seconds."),
                             publish=False)
    for who in (CLIENT_1, SPECIALIST):
        assert (await read(desk, who, f"{ARTICLES}/{article_id}")).status_code == 404
        assert article_id not in await listed(desk, who)
        assert article_id not in await listed(desk, who, q="modem reset")
    assert article_id in await listed(desk, LEAD)  # editors see drafts
    edited = await desk.http.put(f"{ARTICLES}/{article_id}", headers=as_(desk, ADMIN), json=article(
        "Resetting the modem", "Hold the reset button for ten seconds, then wait a minute."))
    assert edited.status_code == 200, edited.text
    assert (edited.json()["status"], edited.json()["version"]) == ("draft", 2)
    assert "wait a minute" in edited.json()["rendered"]["en"]["html"]

    await step(desk, ADMIN, article_id, "submit", expect=200)
    for who in (CLIENT_1, SPECIALIST):
        assert (await read(desk, who, f"{ARTICLES}/{article_id}")).status_code == 404, "under review: still hidden"

    await step(desk, LEAD, article_id, "publish", expect=200)
    for who in (CLIENT_1, CLIENT_2, SPECIALIST):
        shown = await read(desk, who, f"{ARTICLES}/{article_id}")
        assert shown.status_code == 200, shown.text
        assert "ten seconds" in shown.json()["rendered"]["en"]["html"]
        assert article_id in await eventually(lambda who=who: listed(desk, who, q="modem reset"), timeout=WAIT,
                                              message="the published article in the search index")
        assert article_id in await listed(desk, who, f"{ARTICLES}/recent")
    history = (await read(desk, LEAD, f"{ARTICLES}/{article_id}/versions")).json()["items"]
    assert [(v["action"], v["by"], v["status"]) for v in history] == [
        ("create", "root", "draft"), ("edit", "root", "draft"), ("submit", "root", "review"),
        ("publish", "lea", "published")]
    assert history[1]["changed"] == ["content.en"]


async def test_suggestions_bring_the_article_a_tickets_text_matches_and_not_an_unrelated_one(desk: Desk) -> None:
    router = await write(desk, article("Router drops the internet connection",
                                       "If the internet connection drops every few minutes, restart the router.",
                                       tags=["router"]))
    toner = await write(desk, article("Replacing the printer toner", "Open the printer's front panel."))
    ticket_id = await open_ticket(desk, "Since this morning the internet connection keeps dropping",
                                  "Router problem", TEAM_A)

    resp = await read(desk, SPECIALIST, f"/api/v1/tickets/{ticket_id}/suggestions")
    assert resp.status_code == 200, resp.text
    found = [item["id"] for item in resp.json()["items"]]
    assert found[:1] == [router] and toner not in found, found

    typed = await desk.http.post("/api/v1/portal/suggestions", json={"text": "my printer toner is empty"},
                                 headers=as_(desk, CLIENT_1))
    assert typed.status_code == 200, typed.text
    assert [item["id"] for item in typed.json()["items"]][:1] == [toner]
    assert router not in [item["id"] for item in typed.json()["items"]]


async def test_a_view_and_a_vote_count_once_per_person(desk: Desk) -> None:
    article_id = await write(desk, article("Changing the Wi-Fi password", "Open the router's settings page."))
    path = f"{ARTICLES}/{article_id}"
    counted = [(await desk.http.post(f"{path}/views", headers=as_(desk, who))).json()["counted"]
               for who in (CLIENT_1, CLIENT_1, SPECIALIST, SPECIALIST)]
    assert counted == [True, False, True, False]
    assert (await read(desk, LEAD, path)).json()["views"] == 2

    async def vote(who: tuple[str, ...], helpful: bool) -> dict[str, Any]:
        resp = await desk.http.put(f"{path}/vote", json={"helpful": helpful}, headers=as_(desk, who))
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    assert await vote(CLIENT_1, True) == {"helpful": 1, "not_helpful": 0, "my_vote": True}
    assert await vote(CLIENT_1, True) == {"helpful": 1, "not_helpful": 0, "my_vote": True}
    assert await vote(CLIENT_1, False) == {"helpful": 0, "not_helpful": 1, "my_vote": False}  # changed, not added
    assert await vote(SPECIALIST, True) == {"helpful": 1, "not_helpful": 1, "my_vote": True}
    solved = [(await desk.http.post(f"{path}/solved", headers=as_(desk, CLIENT_1))).json()["counted"]
              for _ in range(2)]
    assert solved == [True, False]
    stats = (await read(desk, LEAD, f"{path}/stats")).json()
    assert (stats["views"], stats["helpful"], stats["not_helpful"], stats["deflections"]) == (2, 1, 1, 1)


async def test_a_search_that_finds_nothing_is_in_the_content_gap_report(desk: Desk) -> None:
    found = await write(desk, article("Paying the invoice online", "Pay by card on the billing page."))
    assert await listed(desk, CLIENT_1, q="invoice payment") == [found]
    assert await listed(desk, CLIENT_1, q="warranty of the quantum teleporter") == []
    assert await listed(desk, CLIENT_2, q="Quantum teleporters warranty") == []  # the same question, other words
    gaps = (await read(desk, LEAD, "/api/v1/knowledge/gaps")).json()["items"]
    teleporter = [g for g in gaps if "teleporter" in g["query"].lower()]
    assert len(teleporter) == 1 and teleporter[0]["searches"] == 2, gaps
    assert not any("invoice" in g["query"].lower() for g in gaps)  # a search that found something is no gap
    assert (await read(desk, SPECIALIST, "/api/v1/knowledge/gaps")).status_code == 403


async def test_a_catalogue_category_and_a_tag_narrow_the_list_for_every_audience(desk: Desk) -> None:
    net = await write(desk, article("Speed test", "Run the speed test.", categories=["net", "net-slow"],
                                    tags=["speed"]))
    tv = await write(desk, article("No TV signal", "Check the cable.", categories=["tv"], tags=["signal"]))
    for who in (CLIENT_1, CLIENT_2, SPECIALIST, LEAD):
        assert await listed(desk, who, category="net-slow") == [net], who
        assert await listed(desk, who, tag="signal") == [tv], who
        assert await listed(desk, who, category="tv", tag="speed") == [], who
        assert await listed(desk, who, q="speed", category="net") == [net], who


async def test_news_shows_only_between_its_dates(desk: Desk) -> None:
    start = desk.clock.now() + timedelta(hours=1)
    made = await desk.http.post("/api/v1/knowledge/news", headers=as_(desk, ADMIN), json={
        "content": {"en": {"title": "Maintenance on Saturday", "body": "The network is down 02:00-04:00."}},
        "audience": "clients", "publish_at": start.isoformat(),
        "unpublish_at": (start + timedelta(hours=2)).isoformat()})
    assert made.status_code == 201, made.text
    news_id = made.json()["id"]

    async def shown(who: tuple[str, ...]) -> bool:
        return news_id in await listed(desk, who, "/api/v1/knowledge/news")

    assert not await shown(CLIENT_1), "before its start"
    assert news_id in await listed(desk, LEAD, "/api/v1/knowledge/news", scheduled=True)
    desk.clock.advance(timedelta(hours=1, minutes=30))  # type: ignore[attr-defined]
    assert await shown(CLIENT_1) and await shown(CLIENT_2)
    assert not await shown(SPECIALIST), "an item for clients is not the staff's"
    desk.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert not await shown(CLIENT_1), "after its end"


async def test_a_linked_ticket_is_marked_when_its_client_writes_again_or_it_is_resolved(desk: Desk) -> None:
    article_id = await write(desk, article("Setting up the e-mail client", "Use port 993 for IMAP."))
    written_again = await open_ticket(desk, "Mail does not arrive in my e-mail client", "Mail", TEAM_A)
    settled = await open_ticket(desk, "How do I set up IMAP in the e-mail client", "IMAP", TEAM_A)
    for ticket_id in (written_again, settled):
        link = f"/api/v1/tickets/{ticket_id}/articles/{article_id}"
        assert (await desk.http.post(link, headers=as_(desk, SPECIALIST))).json() == {"counted": True}
        assert (await desk.http.post(link, headers=as_(desk, SPECIALIST))).json() == {"counted": False}

    desk.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await desk.seed([(written_again, client_message("It still does not work", None, TEAM_A, desk.clock.now()))])
    for ticket_id in (written_again, settled):
        await desk.seed([(ticket_id, t.AssignTicket(agent_id="ann", mode="lead")),
                         (ticket_id, t.ResolveTicket(agent_id="ann", problem="imap", solution="the article"))])

    async def stats() -> dict[str, Any] | None:
        body: dict[str, Any] = (await read(desk, LEAD, f"{ARTICLES}/{article_id}/stats")).json()
        links = await desk.db[KNOWLEDGE_LINKS].count_documents({"article_id": article_id, "resolved": True})
        return body if links == 2 else None

    found = await eventually(stats, timeout=WAIT, message="both linked tickets' resolutions seen by knowledge")
    assert (found["linked_tickets"], found["resolved_without_more_messages"]) == (2, 1), found
    again = await desk.db[KNOWLEDGE_LINKS].find_one({"ticket_id": written_again})
    assert again is not None and again["client_wrote_again"] is True
