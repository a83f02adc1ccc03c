"""Wiring of knowledge: its collections, a producer for knowledge.events and knowledge.articles, one consumer group on
tickets.events (what became of the tickets an article was linked to), the internal API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.service import Component, Hooks, service_app
from shared.runtime.service_auth import service_caller

from . import stats, store
from .api import articles, files, marks, news
from .files import ArticleFiles
from .handlers import TicketOutcomes
from .library import Library
from .relevance import Ranker, WordOverlap
from .settings import KnowledgeSettings


class KnowledgeService:
    def __init__(self, settings: KnowledgeSettings, clock: Clock, ranker: Ranker | None = None) -> None:
        self.settings = settings
        self.bus = KafkaBus(settings, "knowledge")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.library = Library(store.ArticleStore(self.db), stats.Stats(self.db), ranker or WordOverlap(), self.bus,
                               clock, settings.max_candidates)
        self.files = ArticleFiles(self.db, settings.file_max_bytes, settings.file_types)
        self.consumer = Consumer(self.bus, TICKETS_EVENTS, "knowledge", TicketOutcomes(self.library.stats))

    def components(self) -> list[Component]:
        prepare = Hooks(lambda: ensure_topics(self.settings),
                        lambda: ensure_indexes(self.db, {**store.INDEXES, **stats.INDEXES}), stop=self.client.close)
        return [prepare, self.bus, Hooks(self.library.republish), self.consumer]

    def ready(self) -> bool:
        return self.consumer.is_running()


def create_app(settings: KnowledgeSettings | None = None, clock: Clock | None = None,
               ranker: Ranker | None = None) -> FastAPI:
    settings = settings or KnowledgeSettings()
    service = KnowledgeService(settings, clock or default_clock(), ranker)
    app = service_app("knowledge", service.components, ready=service.ready,
                      description="Knowledge base: articles and news, rendered safe, scoped by the viewer the gateway "
                                  "sends; views, votes, links to tickets, suggestions, content gaps.")
    app.state.service = service
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(service_caller(settings))], tags=["internal"])
    api.include_router(articles.router(service.library))
    api.include_router(marks.router(service.library, settings.min_suggestion_score))
    api.include_router(news.router(service.library))
    api.include_router(files.router(service.library, service.files))
    app.include_router(api)
    return app
