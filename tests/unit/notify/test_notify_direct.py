"""Deliveries inserted already leased to this process's workers when they have room, in order; what a crash leaves
is sent once after its lease; published marks ride with the next sent mark; a worker does not wait for its sent
mark, and an outcome waits for it (real database)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from test_notify_written import NOW, delivery

from services.notify.dispatcher import Dispatcher
from services.notify.settings import NotifySettings
from services.notify.store import NotifyStore
from shared.runtime.clock import ManualClock
from tests.support.testing import make_settings


class Workers:
    """``direct.Workers`` with ``room`` places per channel; what it is handed is kept in ``queue``."""

    def __init__(self, room: int) -> None:
        self.room, self.reserved = room, 0
        self.queue: list[dict[str, Any]] = []
        self.lease_seconds = 60.0

    def reserve(self, channel: str, n: int) -> int:
        k = max(0, min(n, self.room - len(self.queue) - self.reserved))
        self.reserved += k
        return k

    def hand(self, channel: str, docs: list[dict[str, Any]], reserved: int) -> None:
        self.reserved -= reserved
        self.queue += docs


async def stored(db: AsyncDatabase, i: int) -> dict[str, Any]:
    return await db["notify_deliveries"].find_one({"_id": f"n-{i}"}) or {}


async def test_a_new_delivery_is_inserted_leased_and_handed_to_a_worker_with_room(db: AsyncDatabase) -> None:
    store, workers = NotifyStore(db), Workers(room=2)
    store.workers = workers
    assert await store.add_deliveries([delivery(1), delivery(2), delivery(3)]) == 3
    assert [d["_id"] for d in workers.queue] == ["n-1", "n-2"] and workers.reserved == 0
    for i in (1, 2):  # leased in the insert itself: no claim, no read back
        doc = await stored(db, i)
        assert doc["status"] == "sending" and doc["attempts"] == 1 and doc["claim"] == workers.queue[0]["claim"]
        assert doc["lease_until"] > NOW
    assert (await stored(db, 3))["status"] == "pending" and store.written.known("email") == 1  # no room: queued
    assert [d["_id"] for d in (await store.claim_due("email", NOW, 60, 5)).docs] == ["n-3"]
    assert (await store.claim_due("email", NOW, 60, 5)).docs == []  # none leased twice


async def test_a_later_notice_to_the_same_person_is_not_leased_before_an_earlier_one(db: AsyncDatabase) -> None:
    store, workers = NotifyStore(db), Workers(room=8)
    store.workers = workers
    await store.deliveries.insert_one(delivery(0, seq=2, ticket_id="T-1"))  # still pending from before
    await store.add_deliveries([delivery(1, seq=4), delivery(2, seq=6, ticket_id="T-1", event_id="e-2"),
                                delivery(3, seq=2, ticket_id="T-3")])
    assert [d["_id"] for d in workers.queue] == ["n-3"]  # n-1 and n-2 wait behind n-0, in the queue
    assert (await stored(db, 1))["status"] == (await stored(db, 2))["status"] == "pending"
    await store.add_deliveries([delivery(4, seq=4, ticket_id="T-4"), delivery(5, seq=6, ticket_id="T-4")])
    assert [d["_id"] for d in workers.queue] == ["n-3", "n-4"]  # in one batch: only the earlier goes at once


async def test_a_redelivered_delivery_is_handed_to_no_worker(db: AsyncDatabase) -> None:
    store, workers = NotifyStore(db), Workers(room=8)
    store.workers = workers
    await store.add_deliveries([delivery(1)])
    await store.mark_sent("n-1", NOW, None, "250 ok")
    assert await store.add_deliveries([delivery(1)]) == 0
    assert [d["_id"] for d in workers.queue] == ["n-1"] and workers.reserved == 0
    assert (await stored(db, 1))["status"] == "sent"


async def test_a_leased_insert_whose_process_died_is_sent_once_after_its_lease(db: AsyncDatabase) -> None:
    dead, workers = NotifyStore(db), Workers(room=8)
    dead.workers = workers  # inserted leased and handed to workers that die before sending
    await dead.add_deliveries([delivery(1)])
    restarted = NotifyStore(db)
    assert (await restarted.claim_due("email", NOW, 60, 5)).docs == []  # leased: nobody else takes it
    assert await restarted.release_expired(NOW + timedelta(seconds=61)) == 1
    [again] = (await restarted.claim_due("email", NOW + timedelta(seconds=61), 60, 5)).docs
    assert again["_id"] == "n-1" and again["attempts"] == 2
    assert (await restarted.claim_due("email", NOW + timedelta(seconds=61), 60, 5)).docs == []


async def test_a_claim_of_what_this_process_wrote_needs_no_read_back(db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    await store.add_deliveries([delivery(1, text="Hello")])
    await store.claim_due("email", NOW, 60, 5)  # the first one searches the queue
    await store.add_deliveries([delivery(2, text="Again")])
    [mine] = (await store.claim_due("email", NOW, 60, 5)).docs
    assert mine == {**(await stored(db, 2)), "lease_until": mine["lease_until"]}  # as stored, nothing read
    assert mine["status"] == "sending" and mine["attempts"] == 1 and mine["text"] == "Again"


async def test_a_published_mark_rides_with_the_next_sent_mark_or_goes_on_its_own(db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    await store.deliveries.insert_many([delivery(i, status="sending") for i in (1, 2, 3)])
    await store.mark_sent("n-1", NOW, None, "250 ok")
    store.published_later(["n-1"])
    assert store.publishing("n-1") and (await stored(db, 1))["unpublished"] is True  # the sweeper leaves it
    await store.mark_sent("n-2", NOW, None, "250 ok")  # one write: n-2 sent, n-1 published
    one, two = await stored(db, 1), await stored(db, 2)
    assert one["outcome_published"] is True and "unpublished" not in one and not store.publishing("n-1")
    assert two["unpublished"] is True
    store.published_later(["n-2"])
    await asyncio.wait_for(store._flushing, 5)  # type: ignore[arg-type]  # no sent mark came: on its own
    assert (await stored(db, 2))["outcome_published"] is True and await store.unpublished() == []


class SlowMarks(NotifyStore):
    """Sent marks wait for ``go`` (or fail, with ``fail``)."""

    def __init__(self, db: AsyncDatabase, fail: bool = False) -> None:
        super().__init__(db)
        self.go, self.fail = asyncio.Event(), fail

    async def mark_sent(self, doc_id: str, now: Any, provider_id: str | None, response: str | None) -> None:
        await self.go.wait()
        if self.fail:
            raise ConnectionError("database gone")
        await super().mark_sent(doc_id, now, provider_id, response)


class Smtp:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, d: Any) -> str:
        self.sent.append(d["_id"])
        return "250 ok"

    async def close(self) -> None:
        return None


def dispatcher(store: NotifyStore) -> Dispatcher:
    settings = make_settings(NotifySettings, {}, lease_seconds=60.0)
    return Dispatcher(store, None, ManualClock(NOW), settings, {"email": Smtp})  # type: ignore[arg-type]


async def test_a_worker_goes_on_to_its_next_mail_while_its_sent_mark_is_written(db: AsyncDatabase) -> None:
    store, smtp = SlowMarks(db), Smtp()
    d = dispatcher(store)
    await store.deliveries.insert_many([delivery(i, status="sending") for i in (1, 2)])
    await d.attempt(delivery(1, status="sending"), smtp)
    await d.attempt(delivery(2, status="sending"), smtp)  # the first mark has not landed: the worker went on
    assert smtp.sent == ["n-1", "n-2"] and d._outbox.empty()  # no outcome before its mark
    assert (await stored(db, 1))["status"] == "sending"
    store.go.set()
    await asyncio.wait(set(d._marking), timeout=10)
    assert [(await stored(db, i))["status"] for i in (1, 2)] == ["sent", "sent"]
    assert sorted(d._outbox.get_nowait()["_id"] for _ in range(2)) == ["n-1", "n-2"] and d.delivered == 2


async def test_a_sent_mark_that_fails_leaves_the_delivery_to_its_lease_and_publishes_nothing(db: AsyncDatabase) -> None:
    store, smtp = SlowMarks(db, fail=True), Smtp()
    d = dispatcher(store)
    await store.deliveries.insert_one(delivery(1, status="sending", lease_until=NOW + timedelta(seconds=60)))
    await d.attempt(delivery(1, status="sending"), smtp)
    store.go.set()
    await asyncio.wait(set(d._marking), timeout=10)
    assert d._outbox.empty() and d.delivered == 0 and (await stored(db, 1))["status"] == "sending"
    assert await store.release_expired(NOW + timedelta(seconds=61)) == 1  # then sent again, as after a crash


class CountedReads(NotifyStore):
    reads = 0

    async def _undone(self, ticket_ids: set[str]) -> list[dict[str, Any]]:
        self.reads += 1
        return await super()._undone(ticket_ids)


async def test_a_tickets_line_is_read_once_then_kept_by_its_own_inserts_and_marks(db: AsyncDatabase) -> None:
    store, workers = CountedReads(db), Workers(room=8)
    store.workers = workers
    await store.add_deliveries([delivery(1, seq=2, ticket_id="T-1")])
    await store.add_deliveries([delivery(2, seq=4, ticket_id="T-1", event_id="e-2")])
    assert store.reads == 1 and [d["_id"] for d in workers.queue] == ["n-1"]  # n-2 waits behind n-1, known
    await store.mark_sent("n-1", NOW, None, "250 ok")
    await store.add_deliveries([delivery(3, seq=6, ticket_id="T-1", event_id="e-3")])
    assert store.reads == 1 and [d["_id"] for d in workers.queue] == ["n-1"]  # n-2 (pending) still holds n-3 back
    assert [d["_id"] for d in (await store.claim_due("email", NOW, 60, 5)).docs] == ["n-2"]  # a claim reads
    claimed = store.reads
    await store.mark_sent("n-2", NOW, None, "250 ok")
    await store.add_deliveries([delivery(4, seq=8, ticket_id="T-1", event_id="e-4")])
    assert store.reads == claimed and "n-4" not in [d["_id"] for d in workers.queue]  # n-3 still pending


async def test_what_another_replica_queued_is_seen_at_the_next_read_and_a_release_is_read_again(
        db: AsyncDatabase) -> None:
    store, workers = CountedReads(db), Workers(room=8)
    store.workers = workers
    store.lines.check_seconds = 0.2
    await store.add_deliveries([delivery(1, seq=2, ticket_id="T-1")])
    await store.mark_sent("n-1", NOW, None, "250 ok")
    await store.deliveries.insert_one(delivery(9, seq=4, ticket_id="T-1", event_id="e-9"))  # another replica's
    await asyncio.sleep(0.3)
    await store.add_deliveries([delivery(2, seq=6, ticket_id="T-1", event_id="e-2")])
    assert store.reads == 2 and [d["_id"] for d in workers.queue] == ["n-1"]  # read again: n-9 comes first
    await store.release_held("T-1", "e-x", 8)
    await store.add_deliveries([delivery(3, seq=10, ticket_id="T-3")])
    await store.add_deliveries([delivery(4, seq=10, ticket_id="T-1", event_id="e-4")])
    assert store.reads == 4  # T-3 never read; T-1 read again after the release
