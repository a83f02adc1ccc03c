"""How deep a channel's queue of leased deliveries may be (``pace.py``); a worker gives back, by its claim token, one
taken with too little of its lease left; a claim reads a ticket's line as kept, and a new ticket's line is known empty
from its view's insert (real database)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from test_notify_direct import CountedReads, Smtp, Workers, dispatcher, stored
from test_notify_written import NOW, delivery

from services.notify.lines import Lines
from services.notify.memory import ViewConflict, ViewMemory
from services.notify.pace import MAX_AHEAD, MIN_ROUNDS, Pace
from services.notify.projection import TicketView
from services.notify.store import NotifyStore
from tests.support.testing import eventually


def test_the_queue_holds_what_the_workers_send_in_a_quarter_of_a_lease_between_its_floor_and_ceiling() -> None:
    pace = Pace(workers=8, lease_seconds=120.0)
    assert pace.capacity() == MAX_AHEAD  # no send yet: the ceiling
    pace.sent(0.005)
    assert pace.capacity() == MAX_AHEAD  # 8 workers at 5 ms send 48,000 in 30 s
    for _ in range(50):
        pace.sent(2.0)  # a slow server: 8 workers at 2 s send 120 in 30 s
    assert 115 <= pace.capacity() <= 120
    for _ in range(50):
        pace.sent(60.0)
    assert pace.capacity() == MIN_ROUNDS * 8  # never fewer than a few rounds of the workers


async def worker_takes(db: AsyncDatabase, store: NotifyStore, doc: dict[str, Any]) -> tuple[Smtp, Any]:
    """One e-mail worker of a dispatcher (lease 60 s, clock at NOW) takes ``doc`` from its queue."""
    d, smtp = dispatcher(store), Smtp()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    queue.put_nowait(doc)
    task = asyncio.create_task(d._worker("email", queue, smtp))
    await eventually(queue.empty, timeout=10, message="the worker took it")
    return smtp, task


async def test_a_delivery_taken_with_under_a_quarter_of_its_lease_left_goes_back_unsent_and_is_sent_once_later(
        db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    late = delivery(1, status="sending", claim="mine", attempts=1, lease_until=NOW + timedelta(seconds=10))
    await store.deliveries.insert_one(late)
    smtp, task = await worker_takes(db, store, late)

    async def pending() -> bool:
        return (await stored(db, 1)).get("status") == "pending"

    await eventually(pending, timeout=10, message="given back")
    task.cancel()
    doc = await stored(db, 1)
    assert smtp.sent == [] and doc["attempts"] == 0 and "lease_until" not in doc  # the attempt not counted
    [again] = (await store.claim_due("email", NOW, 60, 5)).docs
    assert again["_id"] == "n-1" and again["attempts"] == 1


async def test_a_delivery_another_worker_claimed_meanwhile_is_not_given_back(db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    late = delivery(1, status="sending", claim="mine", attempts=1, lease_until=NOW + timedelta(seconds=10))
    await store.deliveries.insert_one({**late, "claim": "theirs", "attempts": 2,
                                       "lease_until": NOW + timedelta(seconds=60)})  # its lease ran out; re-claimed
    assert await store.give_back("n-1", "mine", NOW) is False
    smtp, task = await worker_takes(db, store, late)
    await asyncio.sleep(0.2)
    task.cancel()
    doc = await stored(db, 1)
    assert smtp.sent == [] and (doc["status"], doc["claim"], doc["attempts"]) == ("sending", "theirs", 2)


async def test_a_claim_reads_a_tickets_line_once_and_still_keeps_a_later_notice_behind_an_earlier_one(
        db: AsyncDatabase) -> None:
    store, workers = CountedReads(db), Workers(room=1)
    store.workers = workers
    await store.add_deliveries([delivery(1, seq=2, ticket_id="T-1"), delivery(2, seq=4, ticket_id="T-1",
                                                                              event_id="e-2")])
    assert [d["_id"] for d in workers.queue] == ["n-1"] and store.reads == 1  # n-2 waits behind n-1, pending
    claim = await store.claim_due("email", NOW, 60, 5)
    assert claim.docs == [] and claim.held_back and store.reads == 1  # the kept line answered: n-1 is in flight
    await store.mark_sent("n-1", NOW, None, "250 ok")
    [second] = (await store.claim_due("email", NOW, 60, 5)).docs
    assert second["_id"] == "n-2" and store.reads == 1


async def test_a_claim_sees_what_another_replica_finished_at_the_next_read_of_the_line(db: AsyncDatabase) -> None:
    store, workers = CountedReads(db), Workers(room=1)
    store.workers = workers
    store.lines.check_seconds = 0.2
    await store.deliveries.insert_one(delivery(0, seq=2, ticket_id="T-1", status="sending", claim="other"))
    await store.add_deliveries([delivery(2, seq=4, ticket_id="T-1", event_id="e-2")])
    assert workers.queue == [] and store.reads == 1  # behind the other replica's n-0
    await store.deliveries.update_one({"_id": "n-0"}, {"$set": {"status": "sent"}})  # sent over there
    assert (await store.claim_due("email", NOW, 60, 5)).docs == []  # the kept line still lists it: held back
    await asyncio.sleep(0.3)
    [second] = (await store.claim_due("email", NOW, 60, 5)).docs  # read again: n-0 is done
    assert second["_id"] == "n-2" and store.reads == 2


async def test_a_new_tickets_line_is_known_empty_from_its_view_insert_and_a_redelivered_opening_reads_it(
        db: AsyncDatabase) -> None:
    store, workers = CountedReads(db), Workers(room=8)
    store.workers = workers
    views = ViewMemory(store)
    await views.save_views([TicketView(ticket_id="T-1", position=1)])  # inserted: nothing can be in its line yet
    await store.add_deliveries([delivery(1, seq=2, ticket_id="T-1")])
    assert store.reads == 0 and [d["_id"] for d in workers.queue] == ["n-1"]
    again = ViewMemory(store)  # a restarted notify, its opening redelivered: the view is there, refused
    with pytest.raises(ViewConflict):
        await again.save_views([TicketView(ticket_id="T-1", position=1)])
    await store.add_deliveries([delivery(2, seq=4, ticket_id="T-1", event_id="e-2")])
    assert store.reads == 0 and [d["_id"] for d in workers.queue] == ["n-1"]  # still kept: n-1 is in flight
    store.lines.forget("T-1")
    await again.save_views([TicketView(ticket_id="T-2", position=1)])
    await store.add_deliveries([delivery(3, seq=6, ticket_id="T-1", event_id="e-3")])
    assert store.reads == 1 and [d["_id"] for d in workers.queue] == ["n-1"]  # read: n-1 and n-2 hold it back


class CountedClaims(NotifyStore):
    claims = 0

    async def claim_due(self, channel: str, now: Any, lease: float, limit: int) -> Any:
        self.claims += 1
        return await super().claim_due(channel, now, lease, limit)


async def test_a_feeder_that_took_all_that_was_due_rests_until_it_is_told_of_more(db: AsyncDatabase) -> None:
    store = CountedClaims(db)
    d = dispatcher(store)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await store.add_deliveries([delivery(1)])
    feeder = asyncio.create_task(d._feeder("email", queue))
    try:
        await eventually(lambda: queue.qsize() == 1, timeout=10, message="the first one claimed")
        await asyncio.sleep(0.5)
        assert store.claims == 1  # it took all that was due: no search right after
        await store.add_deliveries([delivery(2)])
        d.wake({"email"})  # as the handler does for a delivery queued pending
        await eventually(lambda: queue.qsize() == 2, timeout=10, message="the second one claimed")
        assert store.claims == 2 and (await stored(db, 2))["status"] == "sending"
    finally:
        feeder.cancel()


async def test_a_stopping_dispatcher_gives_back_what_is_still_queued_under_its_own_claims_only(
        db: AsyncDatabase) -> None:
    store = NotifyStore(db)
    d = dispatcher(store)
    mine = delivery(1, status="sending", claim="mine", attempts=1, lease_until=NOW + timedelta(seconds=60))
    expired = delivery(2, status="sending", claim="mine", attempts=1, lease_until=NOW - timedelta(seconds=1))
    await store.deliveries.insert_many([mine, {**expired, "claim": "theirs", "attempts": 2}])  # n-2 re-claimed
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for doc in (mine, expired):
        queue.put_nowait(doc)
    d._queues["email"] = queue
    await d.stop()
    one, two = await stored(db, 1), await stored(db, 2)
    assert (one["status"], one["attempts"]) == ("pending", 0)
    assert (two["status"], two["claim"], two["attempts"]) == ("sending", "theirs", 2)  # left to its worker


def test_a_line_read_while_one_of_its_deliveries_was_marked_finished_does_not_list_it_again() -> None:
    lines = Lines()
    row = {"ticket_id": "T-1", "recipient": "client"}
    lines.finished(["n-1"])  # its mark landed while the read below was on its way
    lines.checked(["T-1"], [{**row, "_id": "n-1", "seq": 2}, {**row, "_id": "n-2", "seq": 4}])
    assert [r["_id"] for r in lines.undone(["T-1"])] == ["n-2"]
    lines.forget()  # a failed one queued again: it may be undone once more
    lines.checked(["T-1"], [{**row, "_id": "n-1", "seq": 2}])
    assert [r["_id"] for r in lines.undone(["T-1"])] == ["n-1"]
