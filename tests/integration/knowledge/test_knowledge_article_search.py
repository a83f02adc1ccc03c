"""Knowledge base search through the search service on the real broker and database (issue 23): a published article
is found through the gateway within the wait, in Russian and English; a draft never enters; an internal article is
never a client's hit nor in his total; another category's article is not the client's; archiving removes it; a
search finding nothing lands in the content-gap report; a record naming no article is dead-lettered while the
consumer goes on; with the knowledge API away the article waits and is indexed when it is back; a rebuild restores
a lost article index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from integration.knowledge.knowledge_support import (
    ADMIN,
    ARTICLES,
    CLIENT_1,
    CLIENT_2,
    LEAD,
    SPECIALIST,
    WAIT,
    Who,
    article,
    as_,
    knowledge_desk,
    read,
    step,
    write,
)

from shared.contracts.collections import SEARCH_ARTICLES
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas.knowledge import ArticleVersioned
from shared.contracts.topics import KNOWLEDGE_EVENTS
from shared.runtime.kafka import read_dead_letters
from tests.support.desk import Desk
from tests.support.testing import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with knowledge_desk(infra) as d:
        yield d


async def search(d: Desk, who: Who, q: str, **params: Any) -> dict[str, Any]:
    resp = await read(d, who, ARTICLES, q=q, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def hits(d: Desk, who: Who, q: str) -> set[str]:
    return {item["id"] for item in (await search(d, who, q))["items"]}


def service(d: Desk) -> Any:
    return d.apps["search"].state.service


async def all_handled(d: Desk, before: int, more: int) -> bool:
    """The search service's consumer of knowledge.events has handled ``more`` records since ``before``."""
    return bool(service(d).article_consumer.pipeline.processed >= before + more)


async def test_a_published_article_is_found_in_both_languages_and_a_draft_never_enters(desk: Desk) -> None:
    made = await desk.http.post(ARTICLES, headers=as_(desk, ADMIN), json={
        "content": {"ru": {"title": "Подключение роутера к сети",
                           "body": "Перезагрузите **роутер** и проверьте кабель."},
                    "en": {"title": "Connecting the router", "body": "Restart the **router** and check the cable."}},
        "visibility": "public"})
    assert made.status_code == 201, made.text
    article_id = made.json()["id"]
    handled = service(desk).article_consumer.pipeline.processed
    await step(desk, ADMIN, article_id, "submit", expect=200)
    await eventually(lambda: all_handled(desk, handled, 2), timeout=WAIT, message="create and submit handled")
    for who in (CLIENT_1, SPECIALIST, LEAD):
        assert article_id not in await hits(desk, who, "роутер кабель"), "a draft or a review is never searchable"

    await step(desk, LEAD, article_id, "publish", expect=200)
    found = await eventually(lambda: hits(desk, CLIENT_1, "подключения роутеров"), timeout=WAIT,
                             message="the published article found by a client")
    assert found == {article_id}
    assert await hits(desk, SPECIALIST, "connections routers") == {article_id}  # English stems
    body = await search(desk, CLIENT_2, "перезагрузить роутер")
    assert body["total"] == 1 and body["items"][0]["id"] == article_id
    assert any("<mark>" in f for f in body["items"][0]["fragments"]), body
    assert "<strong>" not in str(body["items"][0]["fragments"])  # the body's text, never its markup


async def test_an_internal_article_is_staff_only_and_never_in_a_clients_total(desk: Desk) -> None:
    internal = await write(desk, article("Quokka escalation runbook", "Page the night shift.", visibility="internal"))
    public = await write(desk, article("Quokka router lights", "What the lights mean."))
    staff = await search(desk, SPECIALIST, "quokka")
    assert staff["total"] == 2 and {i["id"] for i in staff["items"]} == {internal, public}
    for who in (CLIENT_1, CLIENT_2):
        mine = await search(desk, who, "quokka")
        assert mine["total"] == 1 and [i["id"] for i in mine["items"]] == [public], who
        runbook = await search(desk, who, "quokka escalation runbook")
        assert internal not in {i["id"] for i in runbook["items"]}
        assert runbook["total"] == len(runbook["items"]) <= 1, runbook


async def test_another_categorys_article_is_not_the_clients(desk: Desk) -> None:
    premium = await write(desk, article("Numbat dedicated line", "Your manager answers.", visibility="categories",
                                        client_categories=["premium"]))
    assert await search(desk, CLIENT_1, "numbat line") == {"items": [], "total": 0}  # C-1 is standard
    assert await hits(desk, CLIENT_2, "numbat line") == {premium}  # C-2 is premium
    assert await hits(desk, SPECIALIST, "numbat line") == {premium}


async def test_archiving_removes_the_article_and_a_restored_draft_stays_out(desk: Desk) -> None:
    article_id = await write(desk, article("Axolotl firmware update", "Update the firmware at night."))
    assert await hits(desk, CLIENT_1, "axolotl firmware") == {article_id}
    await step(desk, LEAD, article_id, "archive", expect=200)
    assert await eventually(lambda: _gone(desk, article_id, "axolotl firmware"), timeout=WAIT,
                            message="the archived article out of the index")
    handled = service(desk).article_consumer.pipeline.processed
    await step(desk, ADMIN, article_id, "restore", expect=200)
    await eventually(lambda: all_handled(desk, handled, 1), timeout=WAIT, message="restore handled")
    assert await search(desk, SPECIALIST, "axolotl firmware") == {"items": [], "total": 0}


async def _gone(d: Desk, article_id: str, q: str) -> bool:
    for who in (CLIENT_1, SPECIALIST, LEAD):
        if article_id in await hits(d, who, q):
            return False
    return True


async def test_a_search_that_finds_nothing_is_a_content_gap(desk: Desk) -> None:
    assert await search(desk, CLIENT_1, "pangolin teleporter warranty") == {"items": [], "total": 0}
    gaps = (await read(desk, LEAD, "/api/v1/knowledge/gaps")).json()["items"]
    assert [g["searches"] for g in gaps if "pangolin" in g["query"].lower()] == [1], gaps


async def test_a_record_naming_no_article_is_dead_lettered_and_the_consumer_goes_on(desk: Desk) -> None:
    bogus = ArticleVersioned(article_id="no-such-article", version=1, action="publish", status="published",
                             visibility="public", by="x")
    await desk.bus.publish(KNOWLEDGE_EVENTS, envelope_for(bogus, "no-such-article", occurred_at=datetime.now(UTC)))

    async def parked() -> list[dict[str, Any]]:
        return [r for r in await read_dead_letters(desk.settings, KNOWLEDGE_EVENTS, timeout=10)
                if r["key"] == b"no-such-article"]

    found = await eventually(parked, timeout=WAIT, message="the record on knowledge.events.dlq")
    assert "does not have" in found[0]["headers"]["x-dlq-reason"]
    assert await hits(desk, CLIENT_1, "narwhal") == set()
    narwhal = await write(desk, article("Narwhal cable colours", "Blue is data."))
    assert await hits(desk, CLIENT_1, "narwhal") == {narwhal}


async def test_with_the_knowledge_api_away_an_article_waits_and_is_indexed_when_it_is_back(desk: Desk) -> None:
    feed = service(desk).feed
    back = feed.transport

    def away(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("knowledge is down", request=request)

    await feed.stop()
    feed.transport = httpx.MockTransport(away)
    await feed.start()
    article_id = await write(desk, article("Okapi modem reset", "Hold reset."), publish=False)
    for who, action in ((ADMIN, "submit"), (LEAD, "publish")):
        await step(desk, who, article_id, action, expect=200)
    waiting = desk.db[SEARCH_ARTICLES]
    await eventually(lambda: waiting.find_one({"_id": article_id}), timeout=WAIT, message="the article waits")
    assert await hits(desk, CLIENT_1, "okapi modem") == set()

    await feed.stop()
    feed.transport = back
    await feed.start()
    assert await eventually(lambda: hits(desk, CLIENT_1, "okapi modem"), timeout=WAIT) == {article_id}
    assert await eventually(lambda: _no_waiting(waiting, article_id), timeout=WAIT)


async def _no_waiting(waiting: Any, article_id: str) -> bool:
    return await waiting.find_one({"_id": article_id}) is None


async def test_a_rebuild_restores_a_lost_article_index(desk: Desk) -> None:
    article_id = await write(desk, article("Tapir billing period", "Billing runs monthly."))
    await service(desk).articles.clear()  # the index lost (a new disk)
    assert await hits(desk, SPECIALIST, "tapir billing") == set()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=desk.apps["search"]),
                                 base_url="http://s/api/v1") as http:
        rebuilt = await http.post("/reindex")
        status = await http.get("/index")
    assert rebuilt.status_code == 200 and rebuilt.json()["articles"] >= 1, rebuilt.text
    assert status.json()["articles"] == rebuilt.json()["articles"]
    assert await hits(desk, CLIENT_1, "tapir billing") == {article_id}
