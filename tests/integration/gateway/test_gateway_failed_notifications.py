"""Administrators see notifications that never arrived: notify's own deliveries, driven by notify's store.

The deliveries are written and moved through their states by notify's code (delivery_doc, NotifyStore), so the
gateway reads exactly the documents notify keeps. Times and ids:

 id   ticket channel recipient     what happened                                         listed as
 n-1  T-1    email   client:anna   refused for good at 09:00 (1 attempt)                 failed, permanent
 n-2  T-2    sms     ann           3 attempts, gave up at 10:00                          failed, not permanent
 n-3  T-1    sms     client:anna   sent 07:00, carrier reported undelivered at 11:00     carrier undelivered
 n-4  T-2    email   client:boris  sent and delivered                                    -
 n-5  T-3    email   client:cleo   failed at 08:30, then requeued by an admin (pending)  -
 n-6  T-3    chat    client:cleo   refused for good at 10:00 (ties with n-2: by id)      failed, permanent
Newest first: n-3 (11:00), n-6 (10:00), n-2 (10:00), n-1 (09:00).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from gateway_support import stack

from services.notify.domain import Intent
from services.notify.handlers import delivery_doc
from services.notify.store import NotifyStore
from services.notify.templates import Rendered
from tests.support.desk import Desk

URL = "/api/v1/admin/notifications/failed"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


async def deliver(store: NotifyStore, nid: str, ticket_id: str, channel: str, recipient: str, when: datetime) -> None:
    intent = Intent(notification_id=nid, event_id=f"e-{nid}", ticket_id=ticket_id, recipient=recipient,
                    channel=channel, address=f"addr-{nid}", template="reply", language="en", context={},  # type: ignore[arg-type]
                    audience="staff" if recipient == "ann" else "client")
    assert await store.add_deliveries([delivery_doc(intent, Rendered("s", "t", "<p>t</p>"), when)]) == 1


async def claim(store: NotifyStore, nid: str, channel: str, when: datetime) -> None:
    assert [d["_id"] for d in await store.claim_batch(channel, when, 60, 10)] == [nid]


async def seed(store: NotifyStore) -> None:
    await deliver(store, "n-1", "T-1", "email", "client:anna", at(8, 59))
    await claim(store, "n-1", "email", at(9))
    await store.mark_failed("n-1", at(9), "recipient refused: 550 no such user", permanent=True)

    await deliver(store, "n-2", "T-2", "sms", "ann", at(8))
    for attempt, when in enumerate((at(8), at(9), at(10)), start=1):
        await claim(store, "n-2", "sms", when)
        if attempt < 3:
            await store.reschedule("n-2", when, "provider answered 503")
    await store.mark_failed("n-2", at(10), "gave up after 3 attempts: provider answered 503", permanent=False)

    await deliver(store, "n-3", "T-1", "sms", "client:anna", at(7))
    await claim(store, "n-3", "sms", at(7))
    await store.mark_sent("n-3", at(7), "SM-3", None)
    assert await store.record_report("n-3", "undelivered", "30006", at(11))

    await deliver(store, "n-4", "T-2", "email", "client:boris", at(7))
    await claim(store, "n-4", "email", at(7))
    await store.mark_sent("n-4", at(7), None, "250 ok")

    await deliver(store, "n-5", "T-3", "email", "client:cleo", at(8))
    await claim(store, "n-5", "email", at(8))
    await store.mark_failed("n-5", at(8, 30), "mailbox full", permanent=True)
    assert await store.requeue("n-5", at(12))

    await deliver(store, "n-6", "T-3", "chat", "client:cleo", at(10))
    await claim(store, "n-6", "chat", at(10))
    await store.mark_failed("n-6", at(10), "no chat conversation for this client", permanent=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await seed(NotifyStore(s.db))
        yield s


async def test_failed_and_dead_lettered_deliveries_newest_first_in_pages(gw: Desk) -> None:
    admin = gw.token("root", "administrator")
    first = await gw.http.get(URL, params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [(i["id"], i["at"]) for i in page["items"]] == [("n-3", "2026-03-02T11:00:00Z"),
                                                            ("n-6", "2026-03-02T10:00:00Z")]
    carrier, chat = page["items"]
    assert carrier == {"id": "n-3", "ticket_id": "T-1", "channel": "sms", "recipient": "client:anna",
                       "address": "addr-n-3", "template": "reply", "attempts": 1, "permanent": True,
                       "reason": "carrier reported undelivered (error 30006)", "carrier_status": "undelivered",
                       "at": "2026-03-02T11:00:00Z"}
    assert (chat["reason"], chat["permanent"], chat["carrier_status"]) == (
        "no chat conversation for this client", True, None)
    assert page["limit"] == 2 and page["next_cursor"]
    second = (await gw.http.get(URL, params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin)).json()
    assert [(i["id"], i["attempts"], i["permanent"], i["reason"]) for i in second["items"]] == [
        ("n-2", 3, False, "gave up after 3 attempts: provider answered 503"),
        ("n-1", 1, True, "recipient refused: 550 no such user")]
    assert second["next_cursor"] is None  # n-4 was delivered and n-5 is back in the queue: neither is listed

    by_channel = (await gw.http.get(URL, params={"channel": "sms"}, headers=admin)).json()
    assert [i["id"] for i in by_channel["items"]] == ["n-3", "n-2"] and by_channel["next_cursor"] is None
    by_ticket = (await gw.http.get(URL, params={"ticket_id": "T-1"}, headers=admin)).json()
    assert [i["id"] for i in by_ticket["items"]] == ["n-3", "n-1"]


async def test_only_administrators_and_problems_for_bad_input(gw: Desk) -> None:
    for who, role in (("lea", "team_lead"), ("ann", "specialist"), ("u1", "client")):
        denied = await gw.http.get(URL, headers=gw.token(who, role, client_id="C-1" if role == "client" else None))
        assert denied.status_code == 403, (who, denied.text)
        assert denied.headers["content-type"].startswith("application/problem+json")
    assert (await gw.http.get(URL)).status_code == 401
    admin = gw.token("root", "administrator")
    bad = await gw.http.get(URL, params={"cursor": "not-a-cursor"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["title"] == "Bad cursor"
    assert bad.headers["content-type"].startswith("application/problem+json")
    for params in ({"limit": 0}, {"channel": "pigeon"}):
        invalid = await gw.http.get(URL, params=params, headers=admin)
        assert invalid.status_code == 422 and invalid.json()["errors"], params
