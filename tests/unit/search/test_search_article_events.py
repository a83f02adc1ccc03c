"""knowledge.articles → the article index (pure of Kafka: the engine and the topic's history are in-memory stand-ins):
a state is written only when newer than what the index holds, so a redelivery or an older replay changes nothing and
a withdrawal is not undone by an older published state; what is no article's state, or keyed by another article, is
poison; a rebuild empties the index and fills it from the topic, and an empty index is filled on start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from services.search.article_events import ArticleEvents
from services.search.article_sync import ArticleSync
from services.search.articles import ArticleDoc, article_doc
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas.knowledge import ArticleLinked, ArticlePublishedState, ArticleText, ArticleWithdrawn
from shared.runtime.kafka import Poison

AT = datetime(2026, 3, 1, tzinfo=UTC)


class Engine:
    def __init__(self) -> None:
        self.docs: dict[str, ArticleDoc] = {}
        self.writes = 0

    async def upsert(self, docs: Sequence[ArticleDoc]) -> None:
        self.writes += 1
        self.docs.update({d.article_id: d for d in docs})

    async def versions(self, ids: Sequence[str]) -> dict[str, int]:
        return {i: self.docs[i].version for i in ids if i in self.docs}

    async def count(self) -> int:
        return sum(d.status == "published" for d in self.docs.values())

    async def clear(self) -> None:
        self.docs.clear()


class History:
    def __init__(self) -> None:
        self.docs: list[ArticleDoc] = []
        self.reads = 0

    async def read(self) -> list[ArticleDoc]:
        self.reads += 1
        return list(self.docs)


def published(version: int, title: str = "Modem", article_id: str = "a") -> ArticlePublishedState:
    return ArticlePublishedState(article_id=article_id, version=version, visibility="public", updated_at=AT,
                                 content={"en": ArticleText(title=title, text="Reset it")})


def record(msg: Message, key: str = "a") -> tuple[Any, Message]:
    return envelope_for(msg, key, occurred_at=AT), msg


@pytest.fixture
def parts() -> tuple[Engine, History, ArticleEvents]:
    engine, history = Engine(), History()
    return engine, history, ArticleEvents(ArticleSync(engine, history))  # type: ignore[arg-type]


async def test_the_newest_version_wins_and_a_redelivery_or_an_older_replay_changes_nothing(parts: Any) -> None:
    engine, _, handle = parts
    await handle(record(published(3, "Modem")))
    await handle(record(published(4, "Router")))
    await handle(record(published(4, "Router")))
    await handle(record(published(3, "Modem")))
    assert engine.docs["a"].title == "Router" and engine.docs["a"].version == 4 and engine.writes == 2


async def test_a_withdrawal_is_not_undone_by_an_older_published_state(parts: Any) -> None:
    engine, _, handle = parts
    await handle(record(published(3)))
    await handle(record(ArticleWithdrawn(article_id="a", version=5, status="archived", updated_at=AT)))
    await handle(record(published(4)))
    assert engine.docs["a"].status == "archived" and engine.docs["a"].text == "" and await engine.count() == 0
    await handle(record(published(7, "Back")))  # published again later
    assert engine.docs["a"].title == "Back" and await engine.count() == 1


async def test_what_is_no_articles_state_or_is_keyed_by_another_article_is_poison(parts: Any) -> None:
    engine, _, handle = parts
    with pytest.raises(Poison, match="not an article's state"):
        await handle(record(ArticleLinked(article_id="a", ticket_id="T-1", by="ann")))
    with pytest.raises(Poison, match="keyed b"):
        await handle(record(published(3), key="b"))
    assert engine.writes == 0


async def test_a_rebuild_empties_the_index_and_fills_it_from_the_topic(parts: Any) -> None:
    engine, history, handle = parts
    await handle(record(published(9, "Stray", "gone"), key="gone"))  # not on the topic (a lost record): dropped
    history.docs = [d for d in (article_doc(published(3, "Modem", "x")), article_doc(
        ArticleWithdrawn(article_id="y", version=2, status="draft", updated_at=AT))) if d is not None]
    assert await handle.sync.rebuild() == 1
    assert set(engine.docs) == {"x", "y"} and engine.docs["x"].title == "Modem"


async def test_only_an_empty_index_is_filled_from_the_topic_on_start(parts: Any) -> None:
    engine, history, handle = parts
    history.docs = [d for d in (article_doc(published(3)),) if d is not None]
    await handle.sync.fill_if_empty()
    assert history.reads == 1 and engine.docs["a"].version == 3
    await handle.sync.fill_if_empty()
    assert history.reads == 1, "an index holding articles is not read again from the topic"
