"""Every record ``knowledge.articles`` holds, read from its beginning by a reader of its own (no consumer group, no
commits: the service's consumer keeps its place): the topic is compacted and kept forever, so this is each article's
latest state at least, and the article index is rebuilt from it with no other service asked."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts.topics import KNOWLEDGE_ARTICLES
from shared.runtime.catchup import read_to_end
from shared.runtime.kafka import _client_kwargs, decode_envelope
from shared.runtime.settings import CommonSettings

from .articles import ArticleDoc, article_doc, newest

log = logging.getLogger(__name__)


class HistoryUnread(Exception):
    """The topic could not be read to its end in time."""


class ArticleHistory:
    def __init__(self, settings: CommonSettings, timeout: float) -> None:
        self.settings, self.timeout = settings, timeout

    async def read(self) -> list[ArticleDoc]:
        """Each article's newest document on the topic. A record the consumer dead-letters is skipped here."""
        docs: list[ArticleDoc] = []

        def keep(record: ConsumerRecord) -> None:
            try:
                env, msg = decode_envelope(record.value or b"")
            except ValueError as exc:
                log.warning("unreadable record skipped", extra={"offset": record.offset, "error": str(exc)})
                return
            doc = article_doc(msg)
            if doc is not None and doc.article_id == env.ticket_id:
                docs.append(doc)

        topic = KNOWLEDGE_ARTICLES.full(self.settings.topic_prefix)
        reader = AIOKafkaConsumer(**_client_kwargs(self.settings), group_id=None, enable_auto_commit=False,
                                  auto_offset_reset="earliest", client_id="frontline-search-articles-history",
                                  max_partition_fetch_bytes=max(self.settings.max_message_bytes * 2, 1_048_576))
        await reader.start()
        try:
            parts = reader.partitions_for_topic(topic) or set(range(KNOWLEDGE_ARTICLES.partitions))
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            reader.assign(tps)
            await reader.seek_to_beginning(*tps)
            if not await read_to_end(reader, tps, timeout=self.timeout, keep=keep):
                raise HistoryUnread(f"{topic} not read to its end within {self.timeout} s")
        finally:
            await reader.stop()
        return list(newest(docs).values())
