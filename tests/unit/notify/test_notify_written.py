"""Claims take what this process wrote by id, and still find the rest of the queue; two replicas never claim the
same delivery (real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.store import NotifyStore
from services.notify.written import Written

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def delivery(i: int, at: datetime = NOW, **extra: Any) -> dict[str, Any]:
    return {"_id": f"n-{i}", "event_id": f"e-{i}", "ticket_id": f"T-{i}", "recipient": "client", "channel": "email",
            "address": f"c{i}@client.test", "template": "reply", "status": "pending", "attempts": 0, "seq": 2,
            "next_attempt_at": at, "created_at": at, **extra}


async def test_what_this_process_wrote_is_claimed_first_and_the_rest_of_the_queue_is_still_found(
        db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    await store.add_deliveries([delivery(1), delivery(2, status="held", held_for="e-x")])
    assert store.written.known("email") == 1  # a held delivery joins the queue later, and is found by a search
    assert [d["_id"] for d in (await store.claim_due("email", NOW, 60, 5)).docs] == ["n-1"]  # the first one searches
    await store.deliveries.insert_one(delivery(0, NOW - timedelta(minutes=5)))  # left by a replica that died
    await store.add_deliveries([delivery(3)])
    [mine] = (await store.claim_due("email", NOW, 60, 1)).docs  # searched just now: what it wrote, by id
    assert mine["_id"] == "n-3" and mine["status"] == "sending" and store.written.known("email") == 0
    [left] = (await store.claim_due("email", NOW, 60, 5)).docs  # nothing known left: the queue is searched
    assert left["_id"] == "n-0"
    assert (await store.claim_due("email", NOW, 60, 5)).docs == []


async def test_two_replicas_claiming_at_once_lease_every_delivery_to_exactly_one_of_them(db: AsyncDatabase) -> None:
    writer, other = NotifyStore(db), NotifyStore(db)
    await writer.add_deliveries([delivery(i) for i in range(40)])
    other.written.add(delivery(i) for i in range(40))  # as if both had written them: both claim by id at once
    claimed: list[str] = []
    for _ in range(20):
        rounds = await asyncio.gather(writer.claim_due("email", NOW, 60, 4), other.claim_due("email", NOW, 60, 4))
        claimed += [d["_id"] for claim in rounds for d in claim.docs]
    assert sorted(claimed) == sorted(f"n-{i}" for i in range(40))  # each once, none twice


async def test_a_later_notice_to_the_same_person_waits_even_when_known(db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    await store.add_deliveries([delivery(1, seq=2), delivery(2, seq=4, ticket_id="T-1", event_id="e-2")])
    [first] = (await store.claim_due("email", NOW, 60, 5)).docs
    assert first["_id"] == "n-1"
    assert (await store.claim_due("email", NOW, 60, 5)).docs == []  # n-2 waits while n-1 is in flight
    await store.mark_sent("n-1", NOW, None, "250 ok")
    assert [d["_id"] for d in (await store.claim_due("email", NOW, 60, 5)).docs] == ["n-2"]


def test_deferred_and_forgotten_deliveries_are_not_offered() -> None:
    written = Written(limit=2)
    written.add([delivery(1), delivery(2, next_attempt_at=NOW + timedelta(hours=1)), delivery(3), delivery(4)])
    assert [r["_id"] for r in written.due("email", NOW, 10)] == ["n-3", "n-4"]  # deferred skipped, oldest dropped
    written.forget("email", ["n-3"])
    assert [r["_id"] for r in written.due("email", NOW, 10)] == ["n-4"]


async def test_a_redelivered_delivery_is_not_added_again_and_only_the_new_ones_count(db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    assert await store.add_deliveries([delivery(1), delivery(2)]) == 2
    await store.deliveries.update_one({"_id": "n-1"}, {"$set": {"status": "sent"}})
    counts = await asyncio.gather(store.add_deliveries([delivery(1), delivery(3)]), store.add_deliveries([delivery(2)]))
    assert counts == [1, 0]  # both callers' documents went in one insert; each learns its own
    assert (await store.deliveries.find_one({"_id": "n-1"}) or {})["status"] == "sent"  # left as it was
    assert await store.deliveries.count_documents({}) == 3
