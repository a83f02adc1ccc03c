"""Outcomes still to publish are found by their own small index, including those an older release left behind
(real database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from pymongo import ASCENDING

from services.notify.settings import NotifySettings
from services.notify.store import DELIVERIES, INDEXES, NotifyStore
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.testing import make_settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def delivery(i: int, **extra: object) -> dict[str, object]:
    return {"_id": f"n-{i}", "event_id": f"e-{i}", "ticket_id": f"T-{i}", "recipient": "client", "channel": "email",
            "status": "sending", "attempts": 1, "seq": 2, "next_attempt_at": NOW, "created_at": NOW, **extra}


@pytest_asyncio.fixture
async def store(env: dict[str, str]) -> AsyncIterator[NotifyStore]:
    settings = make_settings(NotifySettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await db[DELIVERIES].create_index([("status", ASCENDING), ("outcome_published", ASCENDING)])  # an older release's
    await ensure_indexes(db, INDEXES, exclusive=True)
    yield NotifyStore(db)
    await client.close()


async def test_sent_and_failed_outcomes_wait_to_be_published_and_then_leave_the_index(store: NotifyStore) -> None:
    names = {i["name"] async for i in await store.deliveries.list_indexes()}
    assert "status_1_outcome_published_1" not in names and "unpublished_1" in names  # every write paid for it
    await store.deliveries.insert_many([delivery(1), delivery(2), delivery(3)])
    await store.mark_sent("n-1", NOW, None, "250 ok")
    await store.mark_failed("n-2", NOW, "550 no such user", permanent=True)
    assert sorted(d["_id"] for d in await store.unpublished()) == ["n-1", "n-2"]  # n-3 is still being sent
    await store.mark_all_published(["n-1", "n-2"])
    assert await store.unpublished() == []
    published = await store.deliveries.find_one({"_id": "n-1"})
    assert published is not None and published["outcome_published"] is True and "unpublished" not in published


async def test_an_outcome_an_older_release_left_unpublished_is_flagged_and_published(store: NotifyStore) -> None:
    await store.deliveries.insert_many([delivery(1, status="sent", outcome_published=False),
                                        delivery(2, status="sent", outcome_published=True)])
    assert await store.unpublished() == []
    assert await store.flag_unpublished() == 1
    assert [d["_id"] for d in await store.unpublished()] == ["n-1"]
    assert await store.flag_unpublished() == 0  # a second start finds nothing more to flag
