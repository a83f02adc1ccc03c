"""Helpers for notify's integration tests: settings, directory seeding, publishing producer events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.topics import TopicSpec
from shared.directory import DirectoryStore
from shared.directory.notify import PREFERENCES
from shared.directory.routing import AGENTS, GROUPS, SERVICES, TEAMS
from shared.runtime.ids import new_id
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.service import metrics_app
from tests.support.testing import make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def notify_settings(env: dict[str, str], smtp_port: int, providers_base: str | None = None,
                    **overrides: Any) -> NotifySettings:
    extra: dict[str, Any] = {}
    if providers_base:
        extra = {"sms_api_url": providers_base, "sms_account_sid": "AC" + "0" * 32, "sms_auth_token": "test-auth-token",
                 "sms_from": "+15005550006",
                 "chat_webhook_url": providers_base + "/webhooks/conversations/{conversation_id}/messages"}
    base: dict[str, Any] = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False, smtp_timeout=5.0,
                                poll_interval=0.05, retry_base_seconds=0.2, retry_cap_seconds=1.0, max_attempts=40,
                                directory_cache_seconds=0.0, lease_seconds=5.0, email_concurrency=4,
                                sms_concurrency=2, chat_concurrency=2, mail_domain="desk.test")
    return make_settings(NotifySettings, env, **{**base, **extra, **overrides})


async def seed(settings: NotifySettings, *, agents: list[BaseModel] = (), teams: list[BaseModel] = (),  # type: ignore[assignment]
               groups: list[BaseModel] = (), services: list[BaseModel] = (),  # type: ignore[assignment]
               prefs: list[BaseModel] = ()) -> None:  # type: ignore[assignment]
    client = mongo_client(settings)
    db: AsyncDatabase = database(client, settings)
    for directory, items in ((AGENTS, agents), (TEAMS, teams), (GROUPS, groups), (SERVICES, services),
                             (PREFERENCES, prefs)):
        store: DirectoryStore[Any] = DirectoryStore(db, directory)
        for item in items:
            await store.put(item, actor="test", at=NOW)
    await client.close()


def ev(msg: Message, ticket_id: str, *, id: str | None = None, cause: str | None = None) -> Envelope:
    env = envelope_for(msg, ticket_id, occurred_at=NOW, id=id or new_id(), actor="test")
    return env.model_copy(update={"causation_id": cause}) if cause else env


@asynccontextmanager
async def publisher(settings: NotifySettings) -> AsyncIterator[KafkaBus]:
    await ensure_topics(settings)
    bus = KafkaBus(settings, "test-producer")
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


async def publish(bus: KafkaBus, spec: TopicSpec, *envs: Envelope) -> None:
    for e in envs:
        await bus.publish(spec, e)


@asynccontextmanager
async def notify_running(settings: NotifySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                               base_url="http://notify") as client:
        yield client


def text_of(msg: Any) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


Counts = dict[tuple[str, str], float]


async def counters(api: httpx.AsyncClient) -> Counts:
    """notify's ``frontline_notifications_total`` from its /metrics, as ``{(channel, outcome): value}``.

    Every app in the test process shares one Prometheus registry, so tests compare before and after.
    """
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=metrics_app()), base_url="http://metrics") as m:
        resp = await m.get("/metrics")  # the metrics port's app; `api` (the public app) no longer serves it
    assert resp.status_code == 200
    return {(s.labels["channel"], s.labels["outcome"]): s.value for fam in text_string_to_metric_families(resp.text)
            for s in fam.samples if s.name == "frontline_notifications_total"}


def moved(before: Counts, after: Counts) -> Counts:
    """The series that changed, by how much."""
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
