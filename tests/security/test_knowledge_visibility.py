"""Attack replay (issue 23, knowledge base): an internal article, a draft or another client category's article never
reaches a client by any door (read, list, search, recent, popular, suggestion, view, vote, "solved"), not even as a
hit or a title in an answer; a specialist reads no draft; hostile Markdown comes back inert; only administrators
write and only leads and administrators publish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from integration.knowledge.knowledge_support import (
    ADMIN,
    ARTICLES,
    CLIENT_1,
    CLIENT_2,
    LEAD,
    SPECIALIST,
    Who,
    article,
    as_,
    knowledge_desk,
    listed,
    open_ticket,
    read,
    step,
    write,
)

from shared.contracts.collections import KNOWLEDGE_ARTICLES
from shared.contracts.schemas.common import ClientRef
from tests.support.desk import Desk
from tests.support.markdown_attacks import HOSTILE_MARKDOWN, active_parts

WORDS = "Zebra firmware rollback procedure"  # every hidden article's title: a query that would find each one
HIDDEN = ("internal", "draft", "premium")
STRANGER = ("P-9", "client", "C-404")  # a client token naming an organisation the directory does not know


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with knowledge_desk(infra) as d:
        d.ids = {  # type: ignore[attr-defined]
            "internal": await write(d, article(WORDS, "Internal: the root password is in the vault.",
                                               visibility="internal")),
            "draft": await write(d, article(WORDS, "Not reviewed yet.", visibility="public"), publish=False),
            "premium": await write(d, article(WORDS, "For premium clients only.", visibility="categories",
                                              client_categories=["premium"])),
            "public": await write(d, article("Zebra router lights", "What the zebra router's lights mean.")),
        }
        yield d


def ids(d: Desk) -> dict[str, str]:
    found: dict[str, str] = d.ids  # type: ignore[attr-defined]
    return found


async def answers(d: Desk, who: Who) -> list[tuple[str, Any]]:
    """Every answer a client can get that lists or counts articles."""
    typed = await d.http.post("/api/v1/portal/suggestions", json={"text": WORDS}, headers=as_(d, who))
    return [("list", await read(d, who, ARTICLES)), ("search", await read(d, who, ARTICLES, q=WORDS)),
            ("search by tag-less words", await read(d, who, ARTICLES, q="root password vault")),
            ("recent", await read(d, who, f"{ARTICLES}/recent")),
            ("popular", await read(d, who, f"{ARTICLES}/popular")),
            ("suggestions", typed)]


@pytest.mark.parametrize("who", [CLIENT_1, STRANGER])
async def test_an_internal_a_draft_or_another_categorys_article_never_reaches_a_client(desk: Desk, who: Who) -> None:
    hidden = {ids(desk)[k] for k in HIDDEN}
    for name, resp in await answers(desk, who):
        assert resp.status_code == 200, (name, resp.text)
        assert not hidden & {item["id"] for item in resp.json()["items"]}, name
        assert "Zebra firmware" not in resp.text and "password" not in resp.text, name  # not even a title
    for key in HIDDEN:
        path = f"{ARTICLES}/{ids(desk)[key]}"
        missing = f"{ARTICLES}/no-such-article"
        for method, suffix, body in (("GET", "", None), ("POST", "/views", None), ("PUT", "/vote", {"helpful": True}),
                                     ("POST", "/solved", None)):
            got = await desk.http.request(method, path + suffix, json=body, headers=as_(desk, who))
            absent = await desk.http.request(method, missing + suffix, json=body, headers=as_(desk, who))
            assert got.status_code == absent.status_code == 404, (key, suffix, got.text)
            assert got.headers["content-type"] == "application/problem+json"
            assert got.json()["title"] == absent.json()["title"], "hidden and missing look alike"
    assert ids(desk)["public"] in await listed(desk, who, q="zebra router")


async def test_a_client_of_the_category_sees_its_article_and_still_no_internal_one_or_draft(desk: Desk) -> None:
    found = await listed(desk, CLIENT_2, q=WORDS)
    assert found[0] == ids(desk)["premium"] and not {ids(desk)["internal"], ids(desk)["draft"]} & set(found), found
    assert (await read(desk, CLIENT_2, f"{ARTICLES}/{ids(desk)['premium']}")).status_code == 200
    for key in ("internal", "draft"):
        assert (await read(desk, CLIENT_2, f"{ARTICLES}/{ids(desk)[key]}")).status_code == 404


async def test_a_specialist_reads_published_articles_but_no_draft_versions_or_numbers(desk: Desk) -> None:
    assert (await read(desk, SPECIALIST, f"{ARTICLES}/{ids(desk)['internal']}")).status_code == 200
    assert (await read(desk, SPECIALIST, f"{ARTICLES}/{ids(desk)['draft']}")).status_code == 404
    assert ids(desk)["draft"] not in await listed(desk, SPECIALIST, q=WORDS)
    for suffix in ("/versions", "/stats"):
        assert (await read(desk, SPECIALIST, f"{ARTICLES}/{ids(desk)['draft']}{suffix}")).status_code == 403
    ticket_id = await open_ticket(desk, WORDS, "Zebra firmware", ClientRef(client_id="C-1", service_team_id="A"))
    suggested = await listed(desk, SPECIALIST, f"/api/v1/tickets/{ticket_id}/suggestions")
    assert ids(desk)["internal"] in suggested and ids(desk)["draft"] not in suggested


@pytest.mark.parametrize("who", [LEAD, SPECIALIST, CLIENT_1])
async def test_only_administrators_write_articles_and_news(desk: Desk, who: Who) -> None:
    body = article("Planted", "planted text")
    before = await desk.db[KNOWLEDGE_ARTICLES].count_documents({})
    made = await desk.http.post(ARTICLES, json=body, headers=as_(desk, who))
    changed = await desk.http.put(f"{ARTICLES}/{ids(desk)['public']}", json=body, headers=as_(desk, who))
    news = await desk.http.post("/api/v1/knowledge/news", headers=as_(desk, who), json={
        "content": {"en": {"title": "Planted", "body": "x"}}, "publish_at": "2026-01-01T00:00:00Z"})
    for resp in (made, changed, news):
        assert resp.status_code == 403 and resp.headers["content-type"] == "application/problem+json", resp.text
    assert await desk.db[KNOWLEDGE_ARTICLES].count_documents({}) == before
    assert "Planted" not in (await read(desk, ADMIN, f"{ARTICLES}/{ids(desk)['public']}")).text


@pytest.mark.parametrize("who", [SPECIALIST, CLIENT_1])
async def test_only_leads_and_administrators_publish(desk: Desk, who: Who) -> None:
    article_id = await write(desk, article("Awaiting review", "x"), publish=False)
    await step(desk, ADMIN, article_id, "submit", expect=200)
    for action in ("publish", "reject", "archive", "submit", "restore"):
        assert (await step(desk, who, article_id, action)).status_code == 403, action
    assert (await read(desk, ADMIN, f"{ARTICLES}/{article_id}")).json()["status"] == "review"
    assert (await read(desk, CLIENT_1, f"{ARTICLES}/{article_id}")).status_code == 404
    await step(desk, ADMIN, article_id, "publish", expect=200)  # an administrator may


async def test_hostile_markdown_comes_back_inert_through_the_api(desk: Desk) -> None:
    body = "\n\n".join(HOSTILE_MARKDOWN)
    article_id = await write(desk, article("Hostile <script>alert(1)</script>", body))
    shown = await read(desk, CLIENT_1, f"{ARTICLES}/{article_id}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "application/json"
    html = shown.json()["rendered"]["en"]["html"]
    assert active_parts(html) == [], html
    assert "<script" not in html and "<iframe" not in html
