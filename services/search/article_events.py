"""knowledge.articles → the article index: each article's published state or withdrawal, written when newer than
what the index holds (``article_sync.py``).

A record that is not an article's state, or keyed by another article, is parked on the dead-letter topic with the
reason; an engine that keeps failing parks the record too (after the consumer's retries), so the consumer never stops.
"""

from __future__ import annotations

from shared.contracts.envelope import Envelope, Message
from shared.runtime.kafka import Poison

from .article_sync import ArticleSync
from .articles import article_doc


class ArticleEvents:
    def __init__(self, sync: ArticleSync) -> None:
        self.sync = sync

    async def __call__(self, item: tuple[Envelope, Message]) -> None:
        env, state = item
        doc = article_doc(state)
        if doc is None:
            raise Poison(f"{env.type} is not an article's state")
        if env.ticket_id != doc.article_id:
            raise Poison(f"{env.type} for {doc.article_id} keyed {env.ticket_id}")
        await self.sync.apply([doc])
