"""An agent's files go out with the reply, over the real broker, database, SMTP server and SMS provider.

E-mail carries each file as a MIME part read from the gateway's bucket; SMS cannot carry files, so the text names
each one with the client portal's ticket page (a page the client signs in to, never a link that works for anyone);
a file that is not clean is never mailed: the delivery fails for good and the agent who wrote it is told why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from notify_support import NOW, ev, notify_running, notify_settings, publish, publisher, seed
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.store import DELIVERIES, INBOX
from shared.contracts.collections import GATEWAY_ATTACHMENTS
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Attachment, Channel, Sender
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import Providers, SmtpServer
from tests.support.testing import Tap, eventually

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PORTAL = "https://desk.test"
WAIT = 60.0


async def stored(db: AsyncDatabase, ticket_id: str, name: str, data: bytes, content_type: str,
                 scan: dict[str, Any] | None = None) -> Attachment:
    """A file as the gateway stores an agent's upload (its bucket, its metadata)."""
    file_id = new_id()
    at = datetime.now(UTC)
    await AsyncGridFSBucket(db, bucket_name=GATEWAY_ATTACHMENTS).upload_from_stream_with_id(
        file_id, name, data, metadata={"content_type": content_type, "ticket_id": ticket_id, "uploaded_by":
                                       "specialist:ivan", "uploaded_at": at,
                                       "scan": scan or {"status": "clean", "by": "clamd", "at": at}})
    return Attachment(id=file_id, filename=name, content_type=content_type, size=len(data))


def opened(tid: str, channel: Channel, sender: Sender) -> Envelope:
    return ev(t.TicketOpened(channel=channel, number=9, subject="Invoice", sender=sender, text="Where is it?"), tid)


async def test_a_replys_files_arrive_as_mime_parts_with_their_names_types_and_bytes(
        env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port, portal_url=PORTAL)
    tid = new_id()
    client = mongo_client(s)
    db = database(client, s)
    try:
        files = [await stored(db, tid, "invoice.pdf", PDF, "application/pdf"),
                 await stored(db, tid, "Скан счёта.png", PNG, "image/png")]
        async with publisher(s) as bus, notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await publish(bus, TICKETS_EVENTS, opened(tid, Channel.email, Sender(email="anna@client.test")),
                          ev(t.ReplySent(agent_id="ivan", text="Both attached", channel=Channel.email,
                                         attachments=files), tid))
            await outcomes.wait(tid, "NotificationSent", timeout=WAIT)
    finally:
        await client.close()
    [mail] = smtp.sink.to("anna@client.test")
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "Both attached" in body.get_content()
    parts = [(p.get_filename(), p.get_content_type(), p.get_content(), p.get_content_disposition())
             for p in mail.iter_attachments()]
    assert parts == [("invoice.pdf", "application/pdf", PDF, "attachment"),
                     ("Скан счёта.png", "image/png", PNG, "attachment")]


async def test_an_sms_reply_names_each_file_with_the_portal_page_and_carries_no_file(
        env: dict[str, str], smtp: SmtpServer, providers: Providers) -> None:
    s = notify_settings(env, smtp.port, providers.base, portal_url=PORTAL + "/", sms_max_segments=3)
    tid = new_id()
    client = mongo_client(s)
    db = database(client, s)
    try:
        pdf = await stored(db, tid, "invoice.pdf", PDF, "application/pdf")
        async with publisher(s) as bus, notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await publish(bus, TICKETS_EVENTS, opened(tid, Channel.phone, Sender(phone="+79123456789")),
                          ev(t.ReplySent(agent_id="ivan", text="Счёт готов. " * 30, channel=Channel.phone,
                                         attachments=[pdf]), tid))
            await outcomes.wait(tid, "NotificationSent", timeout=WAIT)
    finally:
        await client.close()
    [sms] = [m for m in providers.sms if m["To"] == "+79123456789"]
    assert f"invoice.pdf: {PORTAL}/portal/tickets/{tid}" in sms["Body"]  # kept although the long text was cut
    assert "%PDF" not in sms["Body"] and pdf.id not in sms["Body"] and "token" not in sms["Body"]
    assert not smtp.sink.messages


async def test_an_infected_files_reply_is_not_mailed_and_its_author_is_told_why(
        env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port, portal_url=PORTAL)
    await seed(s, agents=[Agent(id="ivan", name="Ivan", language="en")])
    tid = new_id()
    client = mongo_client(s)
    db = database(client, s)
    try:
        bad = await stored(db, tid, "virus.txt", b"X5O!P%@AP", "text/plain",
                           scan={"status": "infected", "signature": "Eicar-Test-Signature", "at": NOW})
        clean = await stored(db, tid, "invoice.pdf", PDF, "application/pdf")
        async with publisher(s) as bus, notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await publish(bus, TICKETS_EVENTS, opened(tid, Channel.email, Sender(email="anna@client.test")),
                          ev(t.ReplySent(agent_id="ivan", text="see attached", channel=Channel.email,
                                         attachments=[clean, bad]), tid))
            [failed] = await outcomes.wait(tid, "NotificationFailed", timeout=WAIT)
            notices: list[dict[str, Any]] = await eventually(
                lambda: db[INBOX].find({"user_id": "ivan", "ticket_id": tid}).to_list(), timeout=WAIT,
                message="ivan's failure notice")
            doc = await db[DELIVERIES].find_one({"ticket_id": tid, "template": "reply"})
    finally:
        await client.close()
    assert failed.payload["permanent"] is True and failed.payload["attempts"] == 1
    assert "virus.txt" in failed.payload["reason"] and "quarantined" in failed.payload["reason"]
    assert doc is not None and doc["status"] == "failed"
    [notice] = notices
    assert notice["template"] == "delivery_failed" and "virus.txt" in notice["text"] and "quarantined" in notice["text"]
    assert not smtp.sink.messages  # not even the clean file went
