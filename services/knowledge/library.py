"""The knowledge service's work behind its API: reads scoped by the viewer, writes versioned and announced on
``knowledge.events`` (and, when its published state changes, on ``knowledge.articles``). A viewer who may not see an
article gets the same ``Hidden`` as for a missing one."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Message, envelope_for
from shared.contracts.knowledge_api import (
    ArticleIn,
    ArticleOut,
    ArticleSummary,
    RenderedText,
    Transition,
    Viewer,
)
from shared.contracts.schemas.knowledge import ArticleVersioned
from shared.contracts.topics import KNOWLEDGE_ARTICLES, KNOWLEDGE_EVENTS, TopicSpec
from shared.runtime.clock import Clock
from shared.runtime.ids import new_id
from shared.runtime.kafka import KafkaBus

from . import domain
from .article_states import article_state
from .domain import Article, Version
from .relevance import Doc, Ranker, normalise_query
from .render import render
from .stats import Stats
from .store import ArticleStore


class Hidden(Exception):
    """No such article for this viewer (missing, or not his to see: one answer for both)."""


class Library:
    def __init__(self, store: ArticleStore, stats: Stats, ranker: Ranker, bus: KafkaBus, clock: Clock,
                 max_candidates: int) -> None:
        self.store, self.stats, self.ranker, self.bus, self.clock = store, stats, ranker, bus, clock
        self.max_candidates = max_candidates

    async def visible(self, viewer: Viewer, article_id: str) -> Article:
        article = await self.store.get(article_id, domain.visible_filter(viewer))
        if article is None or not domain.visible(viewer, article):
            raise Hidden(article_id)
        return article

    async def out(self, viewer: Viewer, article: Article) -> ArticleOut:
        helpful, against, mine = await self.stats.votes(article.id, viewer.user_id)
        rendered = {lang: RenderedText(title=t.title, html=render(t.body)) for lang, t in article.content.items()}
        return ArticleOut(**article.model_dump(), rendered=rendered, helpful=helpful, not_helpful=against, my_vote=mine)

    async def announce(self, key: str, msg: Message, actor: str, topic: TopicSpec = KNOWLEDGE_EVENTS) -> None:
        await self.bus.publish(topic, envelope_for(msg, key, occurred_at=self.clock.now(), actor=actor))

    async def _saved(self, article: Article, version: Version, before: Article | None) -> Article:
        await self.store.save(article, version, before.version if before else None)
        await self.announce(article.id, ArticleVersioned(
            article_id=article.id, version=version.version, action=version.action, status=version.status,
            visibility=article.visibility, changed=version.changed, by=version.by), version.by)
        if (state := article_state(article, before)) is not None:
            await self.announce(article.id, state, version.by, KNOWLEDGE_ARTICLES)
        return article

    async def republish(self) -> None:
        """Every published article's state once more on ``knowledge.articles``, at start: a publish lost after its save
        (there is no outbox here) or articles older than the topic reach search; search keeps the newest version, so a
        repeat changes nothing."""
        async for article in self.store.published():
            if (state := article_state(article, None)) is not None:
                await self.announce(article.id, state, "knowledge", KNOWLEDGE_ARTICLES)

    async def create(self, data: ArticleIn, actor: str) -> Article:
        article, version = domain.create(new_id(), data, actor, self.clock.now())
        return await self._saved(article, version, None)

    async def edit(self, article_id: str, data: ArticleIn, actor: str, can_publish: bool) -> Article:
        article = await self.store.get(article_id)
        if article is None:
            raise Hidden(article_id)
        edited = domain.edit(article, data, actor, self.clock.now(), can_publish)
        return article if edited is None else await self._saved(*edited, article)

    async def move(self, article_id: str, action: Transition, actor: str) -> Article:
        article = await self.store.get(article_id)
        if article is None:
            raise Hidden(article_id)
        return await self._saved(*domain.transition(article, action, actor, self.clock.now()), article)

    async def search(self, viewer: Viewer, category: str | None, tag: str | None, limit: int) -> list[ArticleSummary]:
        """The viewer's articles, newest first, narrowed by catalogue category and tag (searches by words go to the
        search service's index)."""
        where: dict[str, Any] = {"$and": [domain.visible_filter(viewer)]}
        where["$and"] += [{"categories": category}] if category else []
        where["$and"] += [{"tags": tag}] if tag else []
        found = await self.store.find(where, [("updated_at", -1), ("_id", 1)], limit)
        return [summary(a) for a in found if domain.visible(viewer, a)]

    async def summaries(self, viewer: Viewer, ids: list[str]) -> list[ArticleSummary]:
        """These articles, in this order, less those the viewer may not see (the gateway's check of search hits)."""
        where = {"$and": [domain.visible_filter(viewer), {"_id": {"$in": ids}}]}
        found = {a.id: a for a in await self.store.find(where, limit=len(ids)) if domain.visible(viewer, a)}
        return [summary(found[i]) for i in dict.fromkeys(ids) if i in found]

    async def nothing_found(self, q: str) -> bool:
        """A search that found nothing, kept for the content-gap report by its normalised key."""
        if not (key := normalise_query(q)):
            return False
        await self.stats.nothing_found(key, q.strip()[:500], self.clock.now())
        return True

    async def ranked(self, viewer: Viewer, text: str, where: dict[str, Any], limit: int,
                     min_score: float) -> list[ArticleSummary]:
        candidates = {a.id: a for a in await self.store.find(where, limit=self.max_candidates)
                      if domain.visible(viewer, a)}
        docs = [Doc(a.id, " ".join(t.title for t in a.content.values()), " ".join(t.body for t in a.content.values()),
                    a.tags) for a in candidates.values()]
        return [summary(candidates[i], score) for i, score in self.ranker.rank(text, docs, limit, min_score)]

    async def suggest(self, viewer: Viewer, text: str, limit: int, min_score: float) -> list[ArticleSummary]:
        return await self.ranked(viewer, text, domain.visible_filter(viewer), limit, min_score)

    async def listed(self, viewer: Viewer, sort: str, limit: int) -> list[ArticleSummary]:
        where = {"$and": [domain.visible_filter(viewer), {"status": "published"}]}
        found = await self.store.find(where, [(sort, -1), ("_id", 1)], limit)
        return [summary(a) for a in found if domain.visible(viewer, a)]


def summary(article: Article, score: float | None = None) -> ArticleSummary:
    return ArticleSummary(id=article.id, status=article.status, visibility=article.visibility,
                          titles={lang: t.title for lang, t in article.content.items()}, categories=article.categories,
                          tags=article.tags, published_at=article.published_at, updated_at=article.updated_at,
                          views=article.views, score=score)
