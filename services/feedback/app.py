"""Wiring of feedback: a consumer on ``tickets.events``, a timer loop on its partitions, the answer pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.secrets import require_secret
from shared.runtime.service import Component, Hooks, Periodic, service_app
from shared.runtime.timer_loop import IDLE_MAX_SECONDS, OwnedPartitions, TimerLoop

from .answers import AnswerService
from .domain import Policy
from .handlers import FeedbackHandler, Publisher
from .pages import router
from .settings import DEV_KEY, FeedbackSettings
from .store import INDEXES, Directories, SurveyStore


def policy_from(settings: FeedbackSettings) -> Policy:
    return Policy(key=settings.hmac_key.get_secret_value().encode(),
                  token_ttl=timedelta(seconds=settings.token_ttl_seconds),
                  auto_complete_after=timedelta(seconds=settings.auto_complete_seconds),
                  public_base_url=settings.public_base_url, language=settings.default_language)


class FeedbackService:
    """Timers fire only for the partitions this instance consumes, so one owner completes each ticket."""

    def __init__(self, settings: FeedbackSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.bus = KafkaBus(settings, "feedback")
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)
        self.store = SurveyStore(self.db)
        self.policy = policy_from(settings)
        self.publisher = Publisher(self.store, self.bus)
        self.handler = FeedbackHandler(self.store, Directories(self.db, settings.directory_cache_seconds),
                                       self.bus, clock, self.policy)
        self.answers = AnswerService(self.store, self.publisher, clock, self.policy, settings.max_comment_chars)
        self.owned = OwnedPartitions(self.bus.topic(TICKETS_EVENTS))
        self.consumer = Consumer(self.bus, TICKETS_EVENTS, "feedback-ticket-events", self.handler,
                                 on_assigned=self.owned.assigned, on_revoked=self.owned.revoked)
        self.loop = TimerLoop(self.store.timers, clock, self.handler.fire, interval=settings.timer_interval_seconds,
                              owned=self.owned, idle_max=IDLE_MAX_SECONDS)
        # answers whose publishing a crash interrupted go out again (same ids: the ledger dedupes); only a crash
        # leaves them, so an empty sweep rests longer, up to 16 intervals
        self.sweeper = Periodic("feedback-outbox-sweep", settings.sweep_interval_seconds, self.publisher.sweep,
                                backoff=16)

    def components(self) -> list[Component]:
        """In start order; they stop in reverse."""
        prepare = Hooks(lambda: ensure_topics(self.settings), lambda: ensure_indexes(self.db, INDEXES),
                        stop=self.client.close)
        return [prepare, self.bus, self.consumer, self.loop, self.sweeper]

    def ready(self) -> bool:
        return self.consumer.is_running() and self.loop.is_running()


def create_app(settings: FeedbackSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    # A known key makes survey links forgeable.
    require_secret(settings, "FEEDBACK_HMAC_KEY", settings.hmac_key, DEV_KEY)
    service = FeedbackService(settings, clock or default_clock())
    app = service_app("feedback", service.components, ready=service.ready,
                      description="Feedback: the client rates the resolution once; unrated tickets complete "
                                  "on a timer; 'I did not open this request' raises a fraud alert.")
    app.include_router(router(service.answers, settings.default_language, settings.max_comment_chars,
                              settings.confirm_answers))
    app.state.service = service
    return app
