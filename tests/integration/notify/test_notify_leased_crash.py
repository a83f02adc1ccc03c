"""A mail inserted already leased to its notify's workers (``services/notify/direct.py``), whose notify died before
sending it, is sent exactly once by the next notify after the lease, and its outcome published (real broker,
database and SMTP server). The next notify's kept ticket views are wired to be forgotten on every rebalance."""

from __future__ import annotations

import asyncio
from typing import Any

from notify_support import NOW, notify_running, notify_settings
from test_notify_delivery import client_ticket, reply

from services.notify.handlers import NotifyHandler
from services.notify.memory import ViewMemory
from services.notify.store import DELIVERIES, INDEXES, DirectoryCache, NotifyStore
from shared.contracts.schemas.common import Sender
from shared.runtime.clock import ManualClock
from shared.runtime.ids import new_id
from shared.runtime.kafka import decode_envelope
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually


class DyingWorkers:
    """Workers with room that die with whatever they are handed."""

    lease_seconds = 2.0

    def __init__(self) -> None:
        self.handed: list[dict[str, Any]] = []

    def reserve(self, channel: str, n: int) -> int:
        return n

    def hand(self, channel: str, docs: list[dict[str, Any]], reserved: int) -> None:
        self.handed += docs


async def test_a_mail_leased_at_its_insert_by_a_notify_that_died_is_sent_once_after_its_lease(
        env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port, lease_seconds=2.0)
    client = mongo_client(s)
    db = database(client, s)
    await ensure_indexes(db, INDEXES)
    dead, workers = NotifyStore(db), DyingWorkers()
    dead.workers = workers
    handler = NotifyHandler(ViewMemory(dead), DirectoryCache(db, 0.0), None, ManualClock(NOW), s)
    tid = new_id()
    for e in [*client_ticket(tid, Sender(email="leased@client.test")), reply(tid)]:
        await handler.on_ticket_event(decode_envelope(e.to_bytes()))
    [leased] = workers.handed  # inserted leased, then the process died
    deliveries = db[DELIVERIES]
    assert (await deliveries.find_one({"_id": leased["_id"]}) or {})["status"] == "sending"

    async def published() -> bool:
        doc = await deliveries.find_one({"_id": leased["_id"]}) or {}
        return doc.get("status") == "sent" and doc.get("outcome_published") is True

    async with notify_running(s) as api:
        service = api._transport.app.state.service  # type: ignore[attr-defined]
        tickets = service.consumers[0]  # its kept views are forgotten whenever its partitions change
        assert tickets.on_assigned == tickets.on_revoked == service.views.partitions_changed
        await eventually(lambda: smtp.sink.to("leased@client.test"), timeout=60, message="sent after the lease")
        await eventually(published, timeout=30, message="its outcome published")
        await asyncio.sleep(1.0)  # a second send would arrive now
    assert len(smtp.sink.to("leased@client.test")) == 1
    # the leased insert was the first attempt; a loaded machine can let the next lease run out once more unsent
    assert (await deliveries.find_one({"_id": leased["_id"]}) or {})["attempts"] >= 2
    await client.close()
