"""Delivery guarantees on the real broker, database and SMTP server: once, durable, dead-lettered, non-blocking."""

from __future__ import annotations

import asyncio
import time

from notify_support import NOW, ev, notify_running, notify_settings, publish, publisher

from services.notify.store import DELIVERIES
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.ids import new_id
from shared.runtime.kafka import read_dead_letters
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import Providers, SmtpServer
from tests.support.testing import Tap, eventually


def client_ticket(tid: str, sender: Sender, channel: Channel = Channel.email, number: int = 7) -> list[Envelope]:
    """A ticket as the ledger would have told it: opened by a client message, then answered by an agent."""
    content = InboundContent(message_id=f"m-{tid}", channel=channel, external_id=f"x-{tid}", text="Hello there",
                             sender=sender, received_at=NOW, conversation_id=f"conv-{tid[:8]}",
                             email_message_id=f"<{tid}@client.test>" if channel == Channel.email else None)
    return [ev(t.TicketOpened(channel=channel, number=number, subject="Router", sender=sender, text="Hello there"),
               tid, cause=f"open-{tid}"),
            ev(t.MessageReceived(content=content), tid, cause=f"open-{tid}")]


def reply(tid: str, channel: Channel = Channel.email, text: str = "Fixed, please check.") -> Envelope:
    return ev(t.ReplySent(agent_id="ivan", text=text, channel=channel), tid)


async def test_the_same_event_delivered_twice_sends_once(env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    tid = new_id()
    answer = reply(tid)
    async with publisher(s) as bus, notify_running(s) as api:
        await publish(bus, TICKETS_EVENTS, *client_ticket(tid, Sender(email="once@client.test")), answer)
        await eventually(lambda: smtp.sink.to("once@client.test"), message="first delivery")
        await publish(bus, TICKETS_EVENTS, answer, answer)  # the broker redelivers; so do producers
        await asyncio.sleep(1.0)
        listed = (await api.get("/api/v1/deliveries", params={"ticket_id": tid})).json()["items"]
    assert len(smtp.sink.to("once@client.test")) == 1
    assert len(listed) == 1 and listed[0]["status"] == "sent" and listed[0]["attempts"] == 1


async def test_smtp_outage_then_recovery_delivers_each_message_exactly_once(env: dict[str, str],
                                                                            smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    smtp.stop()  # the mail server is down before anything is sent
    tickets = [new_id() for _ in range(6)]
    client = mongo_client(s)
    deliveries = database(client, s)[DELIVERIES]
    async with publisher(s) as bus, Tap(s, NOTIFY_EVENTS) as outcomes:
        async with notify_running(s):
            for i, tid in enumerate(tickets):
                await publish(bus, TICKETS_EVENTS, *client_ticket(tid, Sender(email=f"o{i}@client.test"), number=i),
                              reply(tid))
            await eventually(lambda: _count(deliveries, {"status": "pending", "attempts": {"$gte": 2}}, 6),
                             timeout=20, message="every delivery retried at least once")
        # notify restarts while the outage lasts: the pending deliveries live in MongoDB, not in memory
        smtp.start()
        async with notify_running(s):
            await eventually(lambda: len(smtp.sink.messages) >= 6, timeout=20, message="all six after recovery")
            await outcomes.wait(type="NotificationSent", count=6)
            await asyncio.sleep(1.0)
    await client.close()
    assert sorted(a for m in smtp.sink.messages for a in [m["To"]]) == sorted(f"o{i}@client.test" for i in range(6))
    assert len({m["Message-ID"] for m in smtp.sink.messages}) == 6
    assert len({e.payload["notification_id"] for e in outcomes.of(type="NotificationSent")}) == 6
    assert not outcomes.of(type="NotificationFailed")


async def _count(col: object, query: dict[str, object], n: int) -> bool:
    return await col.count_documents(query) >= n  # type: ignore[attr-defined,no-any-return]


async def test_a_permanently_failing_address_lands_in_the_dead_letter_topic(env: dict[str, str],
                                                                           smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    smtp.sink.refuse.add("ghost@client.test")
    bad, broken = new_id(), new_id()
    async with publisher(s) as bus, notify_running(s) as api, Tap(s, NOTIFY_EVENTS) as outcomes, \
            Tap(s, TICKETS_COMMANDS) as commands:
        await publish(bus, TICKETS_EVENTS, *client_ticket(bad, Sender(email="ghost@client.test")), reply(bad),
                      *client_ticket(broken, Sender(email="not-an-address")), reply(broken))
        failed = await outcomes.wait(type="NotificationFailed", count=2)
        await commands.wait(bad, "RecordNotification")
        listed = (await api.get("/api/v1/deliveries", params={"status": "failed"})).json()["items"]
    by_ticket = {e.ticket_id: e.payload for e in failed}
    assert by_ticket[bad]["permanent"] and "550" in by_ticket[bad]["reason"] and by_ticket[bad]["attempts"] == 1
    assert by_ticket[broken]["permanent"] and "invalid e-mail address" in by_ticket[broken]["reason"]
    assert {d["ticket_id"] for d in listed} == {bad, broken}  # visible to admins
    record = commands.of(bad, "RecordNotification")[0].payload
    assert record["outcome"] == "failed" and "550" in record["detail"]
    dead = await read_dead_letters(s, NOTIFY_EVENTS)
    reasons = {d["key"].decode(): d["headers"]["x-dlq-reason"] for d in dead}
    assert "550" in reasons[bad] and "invalid e-mail address" in reasons[broken]
    assert all(Envelope.from_bytes(d["value"]).type == "NotificationFailed" for d in dead)
    assert smtp.sink.to("ghost@client.test") == []


async def test_a_stalled_smtp_server_does_not_hold_back_sms(env: dict[str, str], smtp: SmtpServer,
                                                            providers: Providers) -> None:
    s = notify_settings(env, smtp.port, providers.base, email_concurrency=2, smtp_timeout=30.0)
    smtp.sink.stall.set()
    mail_tickets = [new_id() for _ in range(3)]
    phone = new_id()
    async with publisher(s) as bus, notify_running(s):
        for i, tid in enumerate(mail_tickets):
            await publish(bus, TICKETS_EVENTS, *client_ticket(tid, Sender(email=f"slow{i}@client.test")), reply(tid))
        await asyncio.sleep(0.5)  # every e-mail worker is now stuck in DATA
        t0 = time.monotonic()
        await publish(bus, TICKETS_EVENTS, *client_ticket(phone, Sender(phone="+79123456789"), Channel.phone),
                      reply(phone, Channel.phone))
        await eventually(lambda: providers.sms, timeout=5, message="SMS despite the stalled SMTP server")
        sms_latency = time.monotonic() - t0
        assert smtp.sink.messages == []
        smtp.sink.release.set()
        await eventually(lambda: len(smtp.sink.messages) >= 3, timeout=15, message="mail after the stall")
    assert sms_latency < 3.0
    assert providers.sms[0]["To"] == "+79123456789" and "Fixed, please check." in providers.sms[0]["Body"]

