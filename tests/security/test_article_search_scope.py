"""Attack replay (issue 23, knowledge search through the search service): a client never gets an internal or another
category's article from the article index, not as a hit, a fragment or in the total, whatever he adds to the request;
the search service takes only the scope shapes it knows and treats query syntax as text; its article search and the
gap report answer only service callers; the knowledge service has no HTTP feed of article texts (internal ones
included) any more: the search service reads them from knowledge.articles, whose ACLs admit it alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from integration.knowledge.knowledge_support import (
    ARTICLES,
    CLIENT_1,
    CLIENT_2,
    SPECIALIST,
    Who,
    article,
    as_,
    knowledge_desk,
    write,
)

from services.knowledge.app import create_app as knowledge_app
from services.knowledge.settings import KnowledgeSettings
from services.search.app import create_app as search_app
from services.search.settings import SearchSettings
from tests.support.desk import Desk
from tests.support.testing import make_settings

WORDS = "Wallaby firmware rollback"  # in every article's title
TOKEN = "s3rvice-t0ken-for-tests"
REMOTE = ("203.0.113.9", 1234)
FORGED = {"audience": "staff", "client_category": "premium", "viewer": "root", "scope": "{}", "visibility": "internal"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with knowledge_desk(infra) as d:
        d.ids = {  # type: ignore[attr-defined]
            "internal": await write(d, article(WORDS, "The root password is in the vault.", visibility="internal")),
            "premium": await write(d, article(WORDS, "Premium only.", visibility="categories",
                                              client_categories=["premium"])),
            "public": await write(d, article(WORDS + " for everyone", "What anyone may read.")),
        }
        yield d


def ids(d: Desk) -> dict[str, str]:
    found: dict[str, str] = d.ids  # type: ignore[attr-defined]
    return found


async def searched(d: Desk, who: Who, q: str, **extra: Any) -> httpx.Response:
    return await d.http.get(ARTICLES, params={"q": q, **extra}, headers=as_(d, who))


@pytest.mark.parametrize("q", [WORDS, "root password vault", "wallaby", "premium only"])
async def test_a_client_gets_no_hidden_article_as_a_hit_a_fragment_or_a_count_whatever_he_adds(
        desk: Desk, q: str) -> None:
    for extra in ({}, FORGED):
        resp = await searched(desk, CLIENT_1, q, **extra)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        shown = {item["id"] for item in body["items"]}
        assert shown <= {ids(desk)["public"]}, (q, extra, body)
        assert body["total"] == len(shown), (q, extra, body)
        assert "vault" not in resp.text and "Premium only" not in resp.text


async def test_staff_and_the_category_see_what_is_theirs(desk: Desk) -> None:
    staff = (await searched(desk, SPECIALIST, WORDS)).json()
    assert staff["total"] == 3 and {i["id"] for i in staff["items"]} == set(ids(desk).values())
    premium = (await searched(desk, CLIENT_2, WORDS)).json()
    assert {i["id"] for i in premium["items"]} == {ids(desk)["premium"], ids(desk)["public"]}
    assert premium["total"] == 2


@pytest.mark.parametrize("q", ['visibility:internal OR "wallaby"', "*", "wallaby)", "((((", "wallaby\\", "-x " * 10,
                               "x" * 500, "status:draft"])
async def test_query_syntax_is_only_text_and_never_a_500(desk: Desk, q: str) -> None:
    resp = await searched(desk, CLIENT_1, q)
    assert resp.status_code in (200, 422), resp.text
    assert resp.headers["content-type"].startswith("application/json" if resp.status_code == 200
                                                   else "application/problem+json")
    if resp.status_code == 200:
        assert {i["id"] for i in resp.json()["items"]} <= {ids(desk)["public"]}


async def test_too_many_words_are_a_422_problem(desk: Desk) -> None:
    resp = await searched(desk, CLIENT_1, " ".join(f"w{i}" for i in range(40)))
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("scope", [{"audience": "root"}, {"audience": "client", "visibility": "internal"},
                                   {"audience": "client", "client_category": {"$ne": None}}, {}, "staff"])
async def test_the_search_service_refuses_scopes_it_does_not_know(desk: Desk, scope: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=desk.apps["search"]), base_url="http://s") as http:
        resp = await http.post("/api/v1/articles/search", json={"q": WORDS, "scope": scope})
        extra = await http.post("/api/v1/articles/search", json={"q": WORDS, "scope": {"audience": "client"},
                                                                 "filter": {"visibility": "internal"}})
    for answer in (resp, extra):
        assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(("service", "method", "url", "body"), [
    ("search", "POST", "/api/v1/articles/search", {"q": "x", "scope": {"audience": "staff"}}),
    ("knowledge", "POST", "/api/v1/gaps?viewer=v&audience=staff", {"query": "x"})])
async def test_article_search_and_the_gap_report_answer_only_service_callers(
        env: dict[str, str], tmp_path: Any, service: str, method: str, url: str, body: Any) -> None:
    if service == "search":
        app = search_app(make_settings(SearchSettings, env, index_dir=str(tmp_path), service_token=TOKEN))
    else:
        app = knowledge_app(make_settings(KnowledgeSettings, env, service_token=TOKEN))
    for client, headers in ((REMOTE, {}), (REMOTE, {"Authorization": "Bearer not-the-token"}),
                            (("127.0.0.1", 5000), {})):
        transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            resp = await http.request(method, url, json=body, headers=headers)
        assert resp.status_code == 401, (client, headers, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("url", ["/api/v1/index/articles", "/api/v1/index/articles/a"])
async def test_the_knowledge_service_serves_no_feed_of_article_texts_even_to_a_service_caller(
        env: dict[str, str], url: str) -> None:
    app = knowledge_app(make_settings(KnowledgeSettings, env, service_token=TOKEN))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        resp = await http.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 404, resp.text
