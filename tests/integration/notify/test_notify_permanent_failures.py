"""Replies that can never be delivered as they are: over the real broker, database and SMTP server.

A threading id with a CR/LF (stored before intake validated ids) must not reach a header: the reply goes,
unthreaded. A reply to an address that can never work fails on its first attempt, the usual failure outcome is
published, and the agent who wrote it finds an in-app notice in their language.
"""

from __future__ import annotations

from typing import Any

from notify_support import ev, notify_running, notify_settings, publish, publisher, seed

from services.notify.store import DELIVERIES, INBOX
from services.notify.store import TICKETS as VIEWS
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import SmtpServer
from tests.support.testing import Tap, eventually

INJECTED = "<c1@client.test>\r\nBcc: thief@evil.test"


def opened(tid: str, email: str) -> Envelope:
    return ev(t.TicketOpened(channel=Channel.email, number=7, subject="Printer", sender=Sender(email=email),
                             text="It is on fire"), tid)


async def test_an_injected_thread_id_is_dropped_and_the_reply_is_sent(env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    tid = new_id()
    client = mongo_client(s)
    db = database(client, s)
    try:
        async with publisher(s) as bus, notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await publish(bus, TICKETS_EVENTS, opened(tid, "anna@client.test"))
            await eventually(lambda: db[VIEWS].find_one({"_id": tid}), message="notify's view of the ticket")
            await db[VIEWS].update_one({"_id": tid}, {"$set": {"last_email_message_id": INJECTED,
                                                               "references": ["<c0@client.test>", INJECTED]}})
            await publish(bus, TICKETS_EVENTS, ev(t.ReplySent(agent_id="ivan", text="Unplug it",
                                                              channel=Channel.email), tid))
            await outcomes.wait(tid, "NotificationSent", timeout=30)
            doc = await db[DELIVERIES].find_one({"ticket_id": tid, "template": "reply"})
    finally:
        await client.close()
    [mail] = smtp.sink.to("anna@client.test")
    assert mail["In-Reply-To"] is None and mail["Bcc"] is None and "thief" not in mail.as_string()
    assert mail["X-Envelope-To"] == "anna@client.test"
    assert doc is not None and doc["status"] == "sent" and doc["attempts"] == 1


async def test_an_undeliverable_reply_fails_at_once_and_its_author_is_told(env: dict[str, str],
                                                                          smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)  # 40 attempts allowed: a permanent error must not use them
    await seed(s, agents=[Agent(id="ivan", name="Ivan", language="en"), Agent(id="olga", name="Olga")])
    bad, refused = new_id(), new_id()
    smtp.sink.refuse.add("gone@client.test")
    client = mongo_client(s)
    db = database(client, s)
    try:
        async with publisher(s) as bus, notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await publish(bus, TICKETS_EVENTS, opened(bad, "anna@client"), opened(refused, "gone@client.test"),
                          ev(t.ReplySent(agent_id="ivan", text="Done", channel=Channel.email), bad),
                          ev(t.ReplySent(agent_id="olga", text="Готово", channel=Channel.email), refused))
            failed = {e.ticket_id: e for e in await outcomes.wait(type="NotificationFailed", count=2, timeout=30)}
            feeds: dict[str, list[dict[str, Any]]] = {}
            for user in ("ivan", "olga"):
                feeds[user] = await eventually(lambda u=user: db[INBOX].find({"user_id": u}).to_list(),  # type: ignore[misc]
                                               timeout=30, message=f"{user}'s failure notice")
            docs = {d["ticket_id"]: d async for d in db[DELIVERIES].find({"ticket_id": {"$in": [bad, refused]}})}
    finally:
        await client.close()
    assert set(failed) == {bad, refused}
    for tid in (bad, refused):
        assert failed[tid].payload["permanent"] is True and failed[tid].payload["attempts"] == 1
        assert docs[tid]["status"] == "failed" and docs[tid]["attempts"] == 1
    [ivan] = feeds["ivan"]
    assert ivan["template"] == "delivery_failed" and ivan["language"] == "en" and ivan["ticket_id"] == bad
    assert ivan["subject"] == "[#7] Not delivered to anna@client: Printer" and "invalid e-mail address" in ivan["text"]
    [olga] = feeds["olga"]
    assert olga["language"] == "ru" and olga["subject"].startswith("[#7] Не доставлено gone@client.test")
    assert "550" in olga["text"] and olga["reason"] == "author"
