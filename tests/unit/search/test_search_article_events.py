"""knowledge.events → the article index (pure of Kafka and MongoDB: the feed, the engine and the waiting list are
in-memory stand-ins): only the current published version is indexed, a redelivery changes nothing, a record naming
no article or keyed by another is poison, and the knowledge API away leaves the article waiting, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from services.search.article_events import ArticleEvents
from services.search.article_sync import ArticleSync
from services.search.articles import ArticleDoc
from services.search.knowledge_feed import FeedUnavailable
from shared.contracts.article_search import IndexedArticle, IndexedArticlePage, IndexedText
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas.knowledge import ArticleLinked, ArticleVersioned
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import Poison

AT = datetime(2026, 3, 1, tzinfo=UTC)


class Feed:
    def __init__(self) -> None:
        self.articles: dict[str, IndexedArticle] = {}
        self.away = False

    async def article(self, article_id: str) -> IndexedArticle | None:
        if self.away:
            raise FeedUnavailable("away")
        return self.articles.get(article_id)

    async def published(self, after: str | None) -> IndexedArticlePage:
        return IndexedArticlePage(items=[a for a in self.articles.values() if a.status == "published"])


class Engine:
    def __init__(self) -> None:
        self.docs: dict[str, ArticleDoc] = {}
        self.writes = 0

    async def upsert(self, docs: Sequence[ArticleDoc]) -> None:
        self.writes += 1
        self.docs.update({d.article_id: d for d in docs})

    async def delete(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.docs.pop(i, None)

    async def count(self) -> int:
        return len(self.docs)

    async def clear(self) -> None:
        self.docs.clear()


class Waiting:
    def __init__(self) -> None:
        self.ids: dict[str, datetime] = {}

    async def add(self, article_id: str, at: datetime) -> None:
        self.ids[article_id] = at

    async def due(self, limit: int) -> list[tuple[str, datetime]]:
        return list(self.ids.items())[:limit]

    async def done(self, article_id: str, at: datetime) -> None:
        if self.ids.get(article_id) == at:
            del self.ids[article_id]


def stored(status: str) -> IndexedArticle:
    return IndexedArticle(id="a", version=2, status=status, visibility="public", updated_at=AT,  # type: ignore[arg-type]
                          content={"en": IndexedText(title="Modem", text="Reset it")})


def event(article_id: str = "a", key: str = "a") -> Any:
    ev = ArticleVersioned(article_id=article_id, version=2, action="publish", status="published",
                          visibility="public", by="lea")
    return envelope_for(ev, key, occurred_at=AT), ev


@pytest.fixture
def parts() -> tuple[Feed, Engine, Waiting, ArticleEvents]:
    feed, engine, waiting = Feed(), Engine(), Waiting()
    sync = ArticleSync(feed, engine, waiting, ManualClock(AT), retry_seconds=0.0)  # type: ignore[arg-type]
    return feed, engine, waiting, ArticleEvents(sync)


async def test_the_current_published_version_is_indexed_and_a_redelivery_changes_nothing(parts: Any) -> None:
    feed, engine, _, handle = parts
    feed.articles["a"] = stored("published")
    await handle(event())
    await handle(event())
    assert list(engine.docs) == ["a"] and engine.docs["a"].title == "Modem"
    feed.articles["a"] = stored("archived")  # the event says published; what the knowledge service has now counts
    await handle(event())
    assert engine.docs == {}


async def test_links_and_news_change_nothing_and_bad_records_are_poison(parts: Any) -> None:
    feed, engine, _, handle = parts
    linked = ArticleLinked(article_id="a", ticket_id="T-1", by="ann")
    await handle((envelope_for(linked, "a", occurred_at=AT), linked))
    assert engine.writes == 0
    with pytest.raises(Poison, match="does not have"):
        await handle(event("ghost", "ghost"))
    feed.articles["a"] = stored("published")
    with pytest.raises(Poison, match="keyed"):
        await handle(event("a", "b"))


async def test_with_the_knowledge_api_away_the_article_waits_for_the_next_round(parts: Any) -> None:
    feed, engine, waiting, handle = parts
    feed.articles["a"], feed.away = stored("published"), True
    await handle(event())  # no exception: the consumer goes on
    assert list(waiting.ids) == ["a"] and engine.docs == {}
    await handle.sync.round()
    assert list(waiting.ids) == ["a"]
    feed.away = False
    await handle.sync.round()
    assert waiting.ids == {} and list(engine.docs) == ["a"]
