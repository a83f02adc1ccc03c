"""Sent marks of workers that finish together go in one write, each keeping its own provider id and reply, and a
mark never touches a delivery that is not being sent (real database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.store import NotifyStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def store(db: AsyncDatabase) -> AsyncIterator[NotifyStore]:
    yield NotifyStore(db)


async def test_marks_that_finish_together_keep_each_its_own_reply_and_provider_id(store: NotifyStore) -> None:
    await store.deliveries.insert_many([{"_id": f"n-{i}", "status": "sending", "channel": "email"} for i in range(6)]
                                       + [{"_id": "n-done", "status": "pending", "channel": "email"}])
    later = NOW + timedelta(milliseconds=3)
    await asyncio.gather(store.mark_sent("n-0", NOW, None, "250 OK"), store.mark_sent("n-1", later, None, "250 OK"),
                         store.mark_sent("n-2", NOW, None, "250 OK"), store.mark_sent("n-3", NOW, None, "250 queued 7"),
                         store.mark_sent("n-4", NOW, "SM1", None), store.mark_sent("n-5", NOW, "SM2", None),
                         store.mark_sent("n-done", NOW, None, "250 OK"))
    docs = {d["_id"]: d async for d in store.deliveries.find({})}
    assert {i: (d["status"], d.get("provider_id"), d.get("provider_response")) for i, d in docs.items()} == {
        "n-0": ("sent", None, "250 OK"), "n-1": ("sent", None, "250 OK"), "n-2": ("sent", None, "250 OK"),
        "n-3": ("sent", None, "250 queued 7"), "n-4": ("sent", "SM1", None), "n-5": ("sent", "SM2", None),
        "n-done": ("pending", None, None)}  # not being sent: a late mark changes nothing
    assert {docs[i]["sent_at"] for i in ("n-0", "n-1", "n-2")} <= {NOW, later}
    assert all(docs[f"n-{i}"]["unpublished"] is True for i in range(6))
