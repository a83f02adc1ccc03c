"""Wiring of search: one consumer group on ``tickets.events`` (the ticket index, in rounds) and one on
``knowledge.articles`` (the article index: each article's published state), the internal API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.contracts.topics import KNOWLEDGE_ARTICLES, TICKETS_EVENTS
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Component, Hooks, Periodic, service_app

from .api import router
from .article_events import ArticleEvents
from .article_history import ArticleHistory
from .article_sync import ArticleSync
from .engine import ArticleIndex, SearchIndex
from .handlers import SearchHandler
from .indexer import Indexer
from .settings import SearchSettings
from .store import INDEXES, PeopleReader, SearchStore

PEOPLE_CACHE_SECONDS = 60.0  # directory changes reach the index by the poll, which drops their cached words


def make_index(settings: SearchSettings) -> SearchIndex:
    if settings.engine == "opensearch":
        from .opensearch_index import OpenSearchIndex  # the client library is loaded only where it is used

        return OpenSearchIndex(settings)
    from .tantivy_index import TantivyIndex

    return TantivyIndex(settings.index_dir, settings.writer_heap_bytes)


def make_article_index(settings: SearchSettings) -> ArticleIndex:
    if settings.engine == "opensearch":
        from .opensearch_articles import OpenSearchArticles

        return OpenSearchArticles(settings)
    from .tantivy_articles import TantivyArticles

    return TantivyArticles(str(Path(settings.index_dir) / "articles"))


class SearchService:
    def __init__(self, settings: SearchSettings, clock: Clock, engine: SearchIndex | None = None) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "search")  # it publishes nothing; dead letters only
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = SearchStore(self.db)
        self.engine = engine or make_index(settings)
        self.indexer = Indexer(self.store, PeopleReader(self.db, PEOPLE_CACHE_SECONDS), self.engine, clock,
                               settings.index_batch)
        self.consumer = Consumer(self.bus, TICKETS_EVENTS, "search", SearchHandler(self.store, self.indexer, clock))
        self.articles = make_article_index(settings)
        self.sync = ArticleSync(self.articles, ArticleHistory(settings, settings.article_history_timeout_seconds))
        self.article_consumer = Consumer(self.bus, KNOWLEDGE_ARTICLES, "search-articles", ArticleEvents(self.sync))

    def components(self) -> list[Component]:
        """In start order; they stop in reverse (the last round runs before the engine closes)."""
        prepare = Hooks(lambda: ensure_topics(self.settings), lambda: ensure_indexes(self.db, INDEXES),
                        stop=self.client.close)
        engine = Hooks(self.engine.start, stop=self.engine.stop)
        articles = Hooks(self.articles.start, self.sync.fill_if_empty, stop=self.articles.stop)
        last_round = Hooks(stop=self.indexer.round)
        rounds = Periodic("search-index", self.settings.index_interval_seconds, self.indexer.round)
        directory = Periodic("search-directory", self.settings.directory_poll_seconds, self.indexer.directory_changes)
        return [prepare, engine, articles, last_round, self.bus, rounds, directory, self.consumer,
                self.article_consumer]

    def ready(self) -> bool:
        return self.consumer.is_running() and self.article_consumer.is_running()


def create_app(settings: SearchSettings | None = None, clock: Clock | None = None,
               engine: SearchIndex | None = None) -> FastAPI:
    settings = settings or SearchSettings()
    service = SearchService(settings, clock or default_clock(), engine)
    app = service_app("search", service.components, ready=service.ready,
                      description="Search: full-text indexes of tickets (kept from tickets.events) and of published "
                                  "knowledge articles (kept from knowledge.articles); asked by the gateway with "
                                  "each caller's scope.")
    app.state.service = service
    app.include_router(router(settings, service.engine, service.indexer, service.articles, service.sync))
    return app
