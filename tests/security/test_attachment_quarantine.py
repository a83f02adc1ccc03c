"""Attack replay (issue 22, quarantine): malware a client or an agent brings in never leaves the desk, and a file
the scanner has not called clean is held, at the door and at send time.

Against a real clamd (tests/support/clamd.py), the real broker and database: an infected file is downloadable by
nobody (administrators included) and cannot go out on a reply; with the scanner down files stay pending (409, the
reply refused), never clean; and a reply whose file raced past the gateway still pending, or that names another
ticket's file, is not mailed by notify: its delivery fails for good.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from gridfs import AsyncGridFSBucket
from integration.gateway.gateway_support import T0, seed_directory

from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.contracts.collections import GATEWAY_ATTACHMENTS, INTAKE_ATTACHMENTS, TICKETS
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Attachment, Channel, ClientRef, Sender
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_EVENTS
from shared.runtime.clock import ManualClock
from shared.runtime.ids import new_id
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from tests.support.clamd import EICAR, clamd, dead_scanner  # noqa: F401  (fixture)
from tests.support.desk import Desk, running_desk
from tests.support.notify_servers import SmtpServer, smtp  # noqa: F401  (fixture)
from tests.support.testing import Tap, eventually, isolated_env, make_settings, running

WAIT = 60.0
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CLIENT = ClientRef(client_id="C-1", service_team_id="A")


@asynccontextmanager
async def desk(infra: dict[str, str], scan_url: str) -> AsyncIterator[Desk]:
    """Intake and the gateway, both scanning with ``scan_url``; ann (team A) and lea (its lead) in the directory."""
    scan = {"attachment_scan_url": scan_url, "attachment_scan_timeout": 60.0}
    async with running_desk({**infra, **isolated_env()}, ManualClock(T0), ["intake", "gateway"], base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 5.0, **scan}, "intake": scan}) as d:
        await seed_directory(d.db)
        yield d


def everyone(d: Desk) -> dict[str, dict[str, str]]:
    return {"specialist": d.token("ann", "specialist"), "lead": d.token("lea", "team_lead"),
            "administrator": d.token("root", "administrator"), "client": d.token("u1", "client", client_id="C-1")}


async def clients_file(d: Desk, name: str, data: bytes) -> tuple[str, str]:
    """A client sends a file through intake's web form; the ticket it opened (linked to C-1, assigned to ann) and
    the file's id."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=d.apps["intake"]),  # type: ignore[arg-type]
                                 base_url="http://intake") as intake:
        up = await intake.post("/api/v1/attachments", files={"file": (name, data, "text/plain")})
        assert up.status_code == 201, up.text
        file_id: str = up.json()["id"]
        form = await intake.post("/api/v1/webhooks/form", json={
            "submission_id": f"form-{file_id}", "email": "anna@c1.example", "text": "see the file",
            "attachment_ids": [file_id]})
        assert form.status_code == 202, form.text
    ticket: dict[str, Any] = await eventually(
        lambda: d.db[TICKETS].find_one({"history.payload.content.attachments.id": file_id}), timeout=WAIT,
        message="the ticket the client's message opened")
    await d.seed([(ticket["_id"], t.LinkClient(client=CLIENT, linked_by="lea")),
                  (ticket["_id"], t.AssignTicket(agent_id="ann", mode="lead"))])
    return ticket["_id"], file_id


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    return body


async def test_an_infected_file_is_downloaded_by_nobody_and_never_sent_on_a_reply(
        infra: dict[str, str], clamd: str) -> None:  # noqa: F811
    async with desk(infra, clamd) as d:
        people = everyone(d)
        ticket_id, file_id = await clients_file(d, "invoice.txt", EICAR)
        await eventually(lambda: d.db[f"{INTAKE_ATTACHMENTS}.files"].find_one(
            {"_id": file_id, "metadata.scan.status": "infected"}), timeout=WAIT, message="intake's verdict")
        for role, who in people.items():
            got = await d.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{file_id}", headers=who)
            assert problem(got, 423)["file_id"] == file_id, role
            assert EICAR not in got.content, role
        # Forwarding the client's file: not the agent's upload, so not sendable at all.
        problem(await d.http.post(f"/api/v1/tickets/{ticket_id}/reply", headers=people["specialist"],
                                  json={"text": "forwarding", "attachment_ids": [file_id]}), 422)
        # The agent's own infected upload: refused at the door and on the reply, for him and for an administrator.
        up = await d.http.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=people["specialist"],
                               files={"file": ("notes.txt", EICAR, "text/plain")})
        own = problem(up, 423)["file_id"]
        problem(await d.http.post(f"/api/v1/tickets/{ticket_id}/reply", headers=people["specialist"],
                                  json={"text": "see attached", "attachment_ids": [own]}), 423)
        problem(await d.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{own}",
                                 headers=people["administrator"]), 404)
        replies = [h for h in (await d.db[TICKETS].find_one({"_id": ticket_id}) or {}).get("history", [])
                   if h["type"] == "ReplySent"]
        assert replies == [], "no reply went out with either file"


async def test_a_scanner_that_is_down_keeps_files_pending_never_clean(infra: dict[str, str]) -> None:
    async with desk(infra, dead_scanner()) as d:
        people = everyone(d)
        ticket_id, file_id = await clients_file(d, "invoice.txt", b"an honest text file\n")
        for role, who in people.items():
            got = await d.http.get(f"/api/v1/tickets/{ticket_id}/attachments/{file_id}", headers=who)
            assert problem(got, 409)["file_id"] == file_id, role
        up = await d.http.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=people["specialist"],
                               files={"file": ("a.pdf", PDF, "application/pdf")})
        assert up.status_code == 201 and up.headers["x-scan-status"] == "pending", up.text
        own = up.json()["id"]
        problem(await d.http.post(f"/api/v1/tickets/{ticket_id}/reply", headers=people["specialist"],
                                  json={"text": "the invoice", "attachment_ids": [own]}), 409)
        ours = await d.db[f"{GATEWAY_ATTACHMENTS}.files"].find_one({"_id": own})
        theirs: dict[str, Any] = await eventually(lambda: d.db[f"{INTAKE_ATTACHMENTS}.files"].find_one(
            {"_id": file_id, "metadata.scan.attempts": {"$gte": 1}}), timeout=WAIT, message="intake tried to scan")
    for entry in (ours, theirs):
        assert entry is not None and entry["metadata"]["scan"]["status"] == "pending", entry
        assert entry["metadata"]["scan"].get("error"), "the scanner's failure is recorded, not taken for a verdict"


async def _stored(db: Any, ticket_id: str, status: str) -> Attachment:
    """A file as the gateway stored it, with the given scan state."""
    file_id = new_id()
    at = datetime.now(UTC)
    await AsyncGridFSBucket(db, bucket_name=GATEWAY_ATTACHMENTS).upload_from_stream_with_id(
        file_id, "invoice.pdf", PDF, metadata={"content_type": "application/pdf", "ticket_id": ticket_id,
                                                "uploaded_by": "specialist:ivan", "scan": {"status": status,
                                                                                           "since": at}})
    return Attachment(id=file_id, filename="invoice.pdf", content_type="application/pdf", size=len(PDF))


async def test_a_reply_naming_a_pending_or_another_tickets_file_is_not_mailed(
        env: dict[str, str], smtp: SmtpServer) -> None:  # noqa: F811
    s = make_settings(NotifySettings, env, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
                      poll_interval=0.05, max_attempts=40, retry_base_seconds=0.2, directory_cache_seconds=0.0)
    raced, foreign, other = new_id(), new_id(), new_id()
    client = mongo_client(s)
    db = database(client, s)
    await ensure_topics(s)
    bus = KafkaBus(s, "test")
    try:
        pending = await _stored(db, raced, "pending")
        elsewhere = await _stored(db, other, "clean")  # clean, but another ticket's
        await bus.start()
        async with running(notify_app(s)), Tap(s, NOTIFY_EVENTS) as outcomes:
            for tid, file in ((raced, pending), (foreign, elsewhere)):
                for msg in (t.TicketOpened(channel=Channel.email, number=3, subject="Invoice",
                                           sender=Sender(email=f"{tid}@client.test"), text="Where is it?"),
                            t.ReplySent(agent_id="ivan", text="attached", channel=Channel.email, attachments=[file])):
                    await bus.publish(TICKETS_EVENTS, envelope_for(msg, tid, occurred_at=T0))
            failed = {e.ticket_id: e.payload for e in await outcomes.wait(type="NotificationFailed", count=2,
                                                                            timeout=WAIT)}
    finally:
        await bus.stop()
        await client.close()
    assert failed[raced]["permanent"] and "has not been scanned" in failed[raced]["reason"]
    assert failed[foreign]["permanent"] and "not a stored file of this ticket" in failed[foreign]["reason"]
    assert not smtp.sink.messages and not [e for e in outcomes.items if e.type == "NotificationSent"]
