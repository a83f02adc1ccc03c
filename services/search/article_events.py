"""knowledge.events → the article index: each article version event syncs that article (``article_sync.py``).

An event naming an article the knowledge service does not have, or keyed by another id, is parked on the dead-letter
topic with the reason; the knowledge API away (or the engine failing) leaves the article waiting for the next round,
so the consumer never stops and nothing is lost."""

from __future__ import annotations

import logging

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas.knowledge import ArticleVersioned
from shared.runtime.kafka import Poison

from .article_sync import ArticleSync

log = logging.getLogger(__name__)


class ArticleEvents:
    def __init__(self, sync: ArticleSync) -> None:
        self.sync = sync

    async def __call__(self, item: tuple[Envelope, Message]) -> None:
        env, ev = item
        if not isinstance(ev, ArticleVersioned):  # links and news change nothing that is searched
            return
        if env.ticket_id != ev.article_id:
            raise Poison(f"ArticleVersioned for {ev.article_id} keyed {env.ticket_id}")
        try:
            known = await self.sync.sync(ev.article_id)
        except Exception as exc:  # the knowledge API or the engine: the article waits, the consumer goes on
            log.warning("article not indexed now; it waits", extra={"article_id": ev.article_id, "error": repr(exc)})
            await self.sync.later(ev.article_id)
            return
        if not known:
            raise Poison(f"ArticleVersioned for {ev.article_id}, an article the knowledge service does not have")
