"""Files through the gateway's API, end to end in the ledger (issue 19, for the console): an agent uploads a file and
replies with it, the client finds it in his ticket's history and downloads it; the client attaches files to a new
portal request and to a message; a file that came in by e-mail (intake, a real IMAP server) is downloadable by the
ticket's staff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio
from gateway_support import T0, seed_directory, stack

from services.intake.settings import Mailbox
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, Client, ContactPerson
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.imap_server import MailServer, dovecot_server
from tests.support.testing import eventually, isolated_env

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        content = InboundContent(message_id="m-TA", channel=Channel.email, external_id="<TA@c>", text="No line",
                                 sender=Sender(email="anna@c1.example"), received_at=T0)
        await s.seed([("TA", t.ReceiveMessage(channel=Channel.email, client=ClientRef(client_id="C-1",
                                                                                      service_team_id="A"),
                                              content=content)),
                      ("TA", t.AssignTicket(agent_id="ann", mode="lead"))])
        yield s


def files_in(history: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every file the history names, by id: (event type, the attachment as recorded)."""
    out = {}
    for h in history:
        payload = h["payload"]
        for att in payload.get("attachments") or (payload.get("content") or {}).get("attachments") or []:
            out[att["id"]] = (h["type"], att)
    return out


async def test_an_agents_reply_carries_a_file_the_client_downloads(gw: Desk) -> None:
    ann, c1 = gw.token("ann", "specialist"), gw.token("u1", "client", client_id="C-1")
    up = await gw.http.post("/api/v1/tickets/TA/attachments", headers=ann,
                            files={"file": ("invoice.pdf", PDF, "application/octet-stream")})
    assert up.status_code == 201, up.text
    meta = up.json()  # the bytes decide the type, not the name or the declared type
    assert meta == {"id": meta["id"], "filename": "invoice.pdf", "content_type": "application/pdf", "size": len(PDF)}
    replied = await gw.http.post("/api/v1/tickets/TA/reply", headers=ann,
                                 json={"text": "Your invoice, corrected", "attachment_ids": [meta["id"]]})
    assert replied.status_code == 200, replied.text
    [reply] = await gw.wait("TA", "ReplySent")
    assert reply.payload["attachments"] == [meta]

    seen = await gw.http.get("/api/v1/tickets/TA", params={"history": "true"}, headers=c1)
    assert seen.status_code == 200, seen.text
    assert files_in(seen.json()["history"])[meta["id"]] == ("ReplySent", meta)
    got = await gw.http.get(f"/api/v1/tickets/TA/attachments/{meta['id']}", headers=c1)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''invoice.pdf"
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-security-policy"] == "sandbox"


async def test_a_client_attaches_files_to_a_new_request_and_to_a_message(gw: Desk) -> None:
    root, c1 = gw.token("root", "administrator"), gw.token("u1", "client", client_id="C-1")
    early = await gw.http.post("/api/v1/portal/attachments", headers=c1,
                               files={"file": ("screen.png", PNG, "image/png")})
    assert early.status_code == 201, early.text
    opened = await gw.http.post("/api/v1/portal/tickets", headers=c1, json={
        "subject": "Router", "text": "See the screenshot", "attachment_ids": [early.json()["id"]]})
    assert opened.status_code == 200, opened.text
    ticket_id = opened.json()["id"]

    later = await gw.http.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=c1,
                               files={"file": ("log.txt", "строка 1\nline 2\n".encode(), "text/plain")})
    assert later.status_code == 201, later.text
    wrote = await gw.http.post(f"/api/v1/portal/tickets/{ticket_id}/messages", headers=c1,
                               json={"text": "and the log", "attachment_ids": [later.json()["id"]]})
    assert wrote.status_code == 200, wrote.text

    async def both_in_history() -> dict[str, tuple[str, dict[str, Any]]] | None:
        resp = await gw.http.get(f"/api/v1/tickets/{ticket_id}?history=true", headers=root)
        files = files_in(resp.json()["history"]) if resp.status_code == 200 else {}
        return files if len(files) == 2 else None

    files = await eventually(both_in_history, timeout=20, message="both client files in the history")
    assert files[early.json()["id"]] == ("MessageReceived", early.json())
    assert files[later.json()["id"]] == ("MessageReceived", later.json())
    got = await gw.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{later.json()['id']}", headers=root)
    assert got.status_code == 200 and got.content.decode() == "строка 1\nline 2\n"
    assert got.headers["content-type"].startswith("text/plain")
    # used once, on its ticket: the early upload cannot be sent again with another request
    again = await gw.http.post("/api/v1/portal/tickets", headers=c1, json={
        "subject": "Again", "text": "x", "attachment_ids": [early.json()["id"]]})
    assert again.status_code == 422, again.text


@pytest.fixture(scope="module")
def mailserver() -> Iterator[MailServer]:
    with dovecot_server() as server:
        yield server


async def test_an_inbound_email_attachment_is_downloadable_by_the_tickets_staff(infra: dict[str, str],
                                                                                mailserver: MailServer) -> None:
    user, password = mailserver.add_user()
    box = Mailbox(name="support", host="127.0.0.1", port=mailserver.port, security="plain", username=user,
                  password=password)

    async def directory(db: Any) -> None:
        await seed_directory(db)
        await DirectoryStore(db, CLIENTS).put(Client(id="C-1", name="Client One", service_team_id="A"),
                                              actor="t", at=T0)
        await DirectoryStore(db, CONTACTS).put(ContactPerson(id="anna", client_id="C-1", name="Anna",
                                                             emails=["anna@c1.example"]), actor="t", at=T0)

    settings = {"intake": {"mailboxes": [box], "imap_poll_seconds": 0.2}, "gateway": {"action_wait_seconds": 5.0}}
    async with running_desk({**infra, **isolated_env()}, ManualClock(T0), ["intake", "gateway"], front="gateway",
                            settings=settings, before=directory, base_url="http://gw") as d:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "Anna <anna@c1.example>", "support@frontline.test", "Bill"
        mail["Message-ID"], mail["Date"] = "<bill-1@c1.example>", "Mon, 02 Mar 2026 10:00:00 +0300"
        mail.set_content("The bill is attached")
        mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="bill.pdf")
        await asyncio.to_thread(mailserver.deliver, user, bytes(mail))

        async def ticket() -> dict[str, Any] | None:
            return await d.db["tickets"].find_one({"email_message_ids": "<bill-1@c1.example>"}, {"history": 0})

        ticket_id = (await eventually(ticket, timeout=30, message="the mail's ticket"))["_id"]
        ann, carol = d.token("ann", "specialist"), d.token("carol", "specialist")
        seen = await d.http.get(f"/api/v1/tickets/{ticket_id}?history=true", headers=ann)
        assert seen.status_code == 200, seen.text
        [(file_id, (kind, att))] = files_in(seen.json()["history"]).items()
        assert kind == "MessageReceived" and att["filename"] == "bill.pdf" and att["size"] == len(PDF)
        got = await d.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{file_id}", headers=ann)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''bill.pdf"
        outside = await d.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{file_id}", headers=carol)
        assert outside.status_code == 404  # team B's specialist
