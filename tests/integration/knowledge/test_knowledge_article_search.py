"""Knowledge base search through the search service on the real broker and database (issue 23): a published article
is found through the gateway within the wait, in Russian and English; a draft never enters; an internal article is
never a client's hit nor in his total; another category's article is not the client's; archiving removes it; a
search finding nothing lands in the content-gap report; a record on knowledge.articles that is no article's state, or
keyed by another article, is dead-lettered with its reason while the consumer goes on; a rebuild restores a lost
article index from the topic."""

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

from shared.contracts.envelope import envelope_for
from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleText, ArticleVersioned
from shared.contracts.topics import KNOWLEDGE_ARTICLES
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


async def test_a_published_article_is_found_in_both_languages_and_a_draft_never_enters(desk: Desk) -> None:
    made = await desk.http.post(ARTICLES, headers=as_(desk, ADMIN), json={
        "content": {"ru": {"title": "Подключение роутера к сети",
                           "body": "Перезагрузите **роутер** и проверьте кабель."},
                    "en": {"title": "Connecting the router", "body": "Restart the **router** and check the cable."}},
        "visibility": "public"})
    assert made.status_code == 201, made.text
    article_id = made.json()["id"]
    await step(desk, ADMIN, article_id, "submit", expect=200)  # no published state: nothing on knowledge.articles
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
    await step(desk, ADMIN, article_id, "restore", expect=200)  # a draft again: nothing published
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


async def test_a_record_that_is_no_articles_state_is_dead_lettered_and_the_consumer_goes_on(desk: Desk) -> None:
    now = datetime.now(UTC)
    versioned = ArticleVersioned(article_id="not-a-state", version=1, action="publish", status="published",
                                 visibility="public", by="x")
    state = ArticlePublishedState(article_id="narwhal-forged", version=9, visibility="public", updated_at=now,
                                  content={"en": ArticleText(title="Narwhal forged", text="Forged.")})
    await desk.bus.publish(KNOWLEDGE_ARTICLES, envelope_for(versioned, "not-a-state", occurred_at=now))
    await desk.bus.publish(KNOWLEDGE_ARTICLES, envelope_for(state, "another-article", occurred_at=now))
    await desk.bus.publish_raw(desk.bus.topic(KNOWLEDGE_ARTICLES), b"broken", b"{not json")

    async def parked() -> dict[bytes, str]:
        found = {r["key"]: r["headers"]["x-dlq-reason"]
                 for r in await read_dead_letters(desk.settings, KNOWLEDGE_ARTICLES, timeout=10)}
        return found if len(found) >= 3 else {}

    reasons = await eventually(parked, timeout=WAIT, message="three records on knowledge.articles.dlq")
    assert "not an article's state" in reasons[b"not-a-state"]
    assert "keyed another-article" in reasons[b"another-article"]
    assert "undecodable" in reasons[b"broken"]
    assert await hits(desk, SPECIALIST, "narwhal") == set()
    narwhal = await write(desk, article("Narwhal cable colours", "Blue is data."))
    assert await hits(desk, CLIENT_1, "narwhal") == {narwhal}


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
