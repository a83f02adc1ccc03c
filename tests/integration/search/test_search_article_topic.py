"""The search service learns knowledge articles only from ``knowledge.articles`` (issue 23, K5), on the real broker
and database: the knowledge service publishes and is stopped, its API answering nobody, and the article is found;
a replayed older state does not overwrite the newer one; archiving removes it and a replay of its published state
after that does not bring it back; a wiped index is filled from the topic on start and by ``reindex``."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from integration.search.search_desk import SearchDesk, search_desk

from services.knowledge.app import create_app as knowledge_app
from services.knowledge.settings import KnowledgeSettings
from shared.contracts.envelope import envelope_for
from shared.contracts.knowledge_api import ArticleIn, Text
from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleText
from shared.contracts.topics import KNOWLEDGE_ARTICLES
from tests.support.testing import eventually, make_settings, running

WAIT = 60.0  # the machine is loaded; the condition is what is awaited, this is only the ceiling
OLD, NEW = "Capybara modem lights", "Capybara router firmware"


def text(title: str) -> ArticleIn:
    return ArticleIn(content={"en": Text(title=title, body=f"**{title}**: what to do.")}, visibility="internal")


async def knowledge_does(desk: SearchDesk, work: Any) -> Any:
    """Run the knowledge service only for this change (its library, no HTTP), then stop it."""
    async with running(knowledge_app(make_settings(KnowledgeSettings, desk.env))) as app:
        return await work(app.state.service.library)


async def found(api: httpx.AsyncClient, q: str) -> set[str]:
    resp = await api.post("/articles/search", json={"q": q, "scope": {"audience": "staff"}})
    assert resp.status_code == 200, resp.text
    return {hit["article_id"] for hit in resp.json()["hits"]}


async def published(lib: Any) -> str:
    """An internal article published at version 3 and edited by its publisher to version 4."""
    article = await lib.create(text(OLD), "root")
    await lib.move(article.id, "submit", "root")
    await lib.move(article.id, "publish", "lea")
    await lib.edit(article.id, text(NEW), "lea", can_publish=True)
    return str(article.id)


async def replay(desk: SearchDesk, article_id: str, version: int) -> None:
    """An older published state written again (an operator's replay): the OLD title at ``version``."""
    state = ArticlePublishedState(article_id=article_id, version=version, visibility="internal",
                                  content={"en": ArticleText(title=OLD, text="what to do")},
                                  updated_at=datetime.now(UTC))
    handled = desk.search.state.service.article_consumer.processed
    await desk.bus.publish(KNOWLEDGE_ARTICLES, envelope_for(state, article_id, occurred_at=datetime.now(UTC)))
    await eventually(lambda: desk.search.state.service.article_consumer.processed > handled, timeout=WAIT,
                     message="the replayed state handled")


async def test_articles_reach_the_index_through_the_topic_alone_newest_version_wins(
        infra: dict[str, str], tmp_path: Path) -> None:
    async with search_desk(infra, tmp_path / "index") as desk:
        article_id = await knowledge_does(desk, published)
        async with desk.search_running() as api:  # the knowledge service is stopped: nothing answers HTTP for it
            assert await eventually(lambda: found(api, "router firmware"), timeout=WAIT,
                                    message="the published article indexed from the topic") == {article_id}
            await replay(desk, article_id, 3)
            assert await found(api, "modem lights") == set(), "an older state never overwrites a newer one"
            assert await found(api, "router firmware") == {article_id}

            await knowledge_does(desk, lambda lib: lib.move(article_id, "archive", "lea"))
            await eventually(lambda: _none(found(api, "router firmware")), timeout=WAIT,
                             message="the archived article out of the index")
            await replay(desk, article_id, 4)
            assert await found(api, "capybara") == set(), "a published state older than the withdrawal stays out"


async def test_a_wiped_index_is_filled_from_the_topic_on_start_and_by_reindex(
        infra: dict[str, str], tmp_path: Path) -> None:
    async with search_desk(infra, tmp_path / "index") as desk:
        article_id = await knowledge_does(desk, published)
        async with desk.search_running() as api:
            await eventually(lambda: found(api, "router firmware"), timeout=WAIT, message="indexed")
        shutil.rmtree(tmp_path / "index")  # a new disk
        async with desk.search_running() as api:  # the group's offsets are committed: only the topic's start has it
            assert await eventually(lambda: found(api, "router firmware"), timeout=WAIT,
                                    message="an empty index filled from the topic on start") == {article_id}
            await desk.search.state.service.articles.clear()
            assert await found(api, "router firmware") == set()
            rebuilt = await api.post("/reindex")
            assert rebuilt.status_code == 200 and rebuilt.json()["articles"] == 1, rebuilt.text
            assert (await api.get("/index")).json()["articles"] == 1
            assert await found(api, "router firmware") == {article_id}
            assert await found(api, "modem lights") == set()


async def _none(hits: Any) -> bool:
    return not await hits


async def test_articles_the_topic_never_carried_reach_search_when_knowledge_starts(
        infra: dict[str, str], tmp_path: Path) -> None:
    """An article saved while its publish went elsewhere (a lost publish, or a desk older than the topic) is announced
    again when the knowledge service starts, and search finds it."""
    async with search_desk(infra, tmp_path / "index") as desk:
        elsewhere = {**desk.env, "FRONTLINE_TOPIC_PREFIX": "elsewhere."}
        async with running(knowledge_app(make_settings(KnowledgeSettings, elsewhere))) as app:
            article_id = await published(app.state.service.library)
        async with desk.search_running() as api:
            assert await found(api, "router firmware") == set(), "the desk's topic never carried it"
            async with running(knowledge_app(make_settings(KnowledgeSettings, desk.env))):
                assert await eventually(lambda: found(api, "router firmware"), timeout=WAIT,
                                        message="announced again at the knowledge service's start") == {article_id}
