"""Merge and split on the real desk (ledger, sla, notify and the gateway on the real broker and database, issue 22):
a client's phone ticket merged into his e-mail ticket is closed as merged with the link, its messages and files are
on the target, its SLA clocks stopped and the client gets exactly one notice; two messages split off become a new
ticket of the same client with the link back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from gateway_support import T0, seed_directory
from gridfs import AsyncGridFSBucket

from services.sla.model import SlaClock
from shared.contracts.collections import INTAKE_ATTACHMENTS, SLA_CLOCKS
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Attachment, Channel, ClientRef, InboundContent, Sender
from shared.directory.contacts import Client, ContactPerson
from shared.runtime.clock import ManualClock
from shared.runtime.mailstore import MailStore
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

ANNA = ContactPerson(id="P-1", client_id="C-1", name="Anna Petrova", emails=["anna@c1.example"],
                     phones=["+79123456789"])
C1 = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A", contact_id="P-1")
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def message(mid: str, channel: Channel, text: str, **kw: Any) -> InboundContent:
    sender = Sender(phone="+79123456789") if channel == Channel.phone else Sender(email="anna@c1.example")
    return InboundContent(message_id=mid, channel=channel, external_id=f"<{mid}@c1>", text=text, sender=sender,
                          received_at=T0, **kw)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["sla", "notify", "gateway"], base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 10.0}}, http_timeout=60.0) as d:
        await seed_directory(d.db)
        await d.put(Client(id="C-1", name="Vector", service_team_id="A"), ANNA)
        photo = Attachment(id="photo-1", filename="router.png", content_type="image/png", size=len(PHOTO))
        await AsyncGridFSBucket(d.db, bucket_name=INTAKE_ATTACHMENTS).upload_from_stream_with_id(
            photo.id, photo.filename, PHOTO, metadata={"content_type": photo.content_type, "ticket_id": "PH"})
        await d.seed([
            ("EM", t.ReceiveMessage(channel=Channel.email, client=C1, content=message("e1", Channel.email,
                                                                                      "No internet since morning"))),
            ("EM", t.AssignTicket(agent_id="ann", mode="lead")),
            ("PH", t.ReceiveMessage(channel=Channel.phone, client=C1,
                                    content=message("p1", Channel.phone, "Called: the router blinks red",
                                                    attachments=[photo]))),
            ("PH", t.AssignTicket(agent_id="bob", mode="lead")),
            ("SP", t.ReceiveMessage(channel=Channel.email, client=C1, line="first",
                                    content=message("s1", Channel.email, "The line is down"))),
            *[("SP", t.ReceiveMessage(channel=Channel.email, client=C1, content=message(m, Channel.email, text)))
              for m, text in (("s2", "Also: the March invoice is wrong"), ("s3", "It charges twice"))],
            ("SP", t.AssignTicket(agent_id="ann", mode="lead")),
        ])
        yield d


def sink(d: Desk) -> MailStore:
    return MailStore(Path(d.apps["notify"].state.service.settings.sink_dir))


async def history(d: Desk, ticket_id: str, who: dict[str, str]) -> list[dict[str, Any]]:
    resp = await d.http.get(f"/api/v1/tickets/{ticket_id}", params={"history": "true"}, headers=who)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["history"])


async def test_a_phone_ticket_merged_into_the_clients_email_ticket(desk: Desk) -> None:
    bob, lea = desk.token("bob", "specialist", teams="A"), desk.token("lea", "team_lead", teams="A")
    await eventually(lambda: desk.db[SLA_CLOCKS].find_one({"_id": "PH"}), timeout=60, message="the phone clock")
    up = await desk.http.post("/api/v1/tickets/PH/attachments", headers=bob,
                              files={"file": ("invoice.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    file_id = up.json()["id"]
    replied = await desk.http.post("/api/v1/tickets/PH/reply", headers=bob,
                                   json={"text": "We are checking the line", "attachment_ids": [file_id]})
    assert replied.status_code == 200, replied.text
    noted = await desk.http.post("/api/v1/tickets/PH/notes", headers=bob, json={"text": "port 7 flaps"})
    assert noted.status_code == 200, noted.text

    merged = await desk.http.post("/api/v1/tickets/PH/merge", headers=lea,
                                  json={"target_id": "EM", "reason": "the same outage"})
    assert merged.status_code == 200, merged.text
    assert (merged.json()["status"], merged.json()["merged_into"]) == ("closed", "EM")

    await desk.wait("EM", "TicketAbsorbed", timeout=60)
    target = await desk.settled("EM", lambda d: d.get("merged_from") == ["PH"], "the target knows its source")
    assert target["status"] == "assigned" and target["message_count"] == 3  # e-mail, call, reply
    seen = await history(desk, "EM", lea)
    [absorbed] = [h for h in seen if h["type"] == "TicketAbsorbed"]
    assert [m["text"] for m in absorbed["payload"]["messages"]] == ["Called: the router blinks red"]
    assert [r["text"] for r in absorbed["payload"]["replies"]] == ["We are checking the line"]
    assert "port 7 flaps" in [h["payload"]["text"] for h in seen if h["type"] == "NoteAdded"]
    for fid, data in (("photo-1", PHOTO), (file_id, PDF)):  # the client's photo and the agent's file, via the target
        got = await desk.http.get(f"/api/v1/tickets/EM/attachments/{fid}", headers=lea)
        assert got.status_code == 200 and got.content == data, (fid, got.status_code, got.text[:200])
    client = desk.token("anna", "client", client_id="C-1")
    assert "NoteAdded" not in {h["type"] for h in await history(desk, "EM", client)}

    async def stopped() -> SlaClock | None:
        doc = await desk.db[SLA_CLOCKS].find_one({"_id": "PH"})
        clock = SlaClock.from_doc(doc) if doc else None
        return clock if clock and clock.status == "closed" and not any(
            tc.running for tc in clock.targets.values()) else None
    assert await eventually(stopped, timeout=60, message="the source's SLA clocks stopped")

    def notices() -> list[Any]:
        return [k for k in sink(desk).messages() if "anna@c1.example" in k.to and "merged" in k.subject.lower()]
    [notice] = await eventually(notices, timeout=60, message="the merge notice to the client")
    assert "#" in notice.subject and str((await desk.ticket("PH"))["number"]) in notice.text
    again = await desk.http.post("/api/v1/tickets/PH/merge", headers=lea, json={"target_id": "EM"})
    assert again.status_code == 200 and again.json()["merged_into"] == "EM", again.text  # already so: no effect
    elsewhere = await desk.http.post("/api/v1/tickets/PH/merge", headers=lea, json={"target_id": "SP"})
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "already_merged", elsewhere.text
    source = await history(desk, "PH", lea)
    assert [h["payload"]["target_id"] for h in source if h["type"] == "TicketMerged"] == ["EM"]
    for ticket_id, words in (("PH", "merged into #"), ("EM", "merged into this ticket")):  # both histories say it
        export = await desk.http.get(f"/api/v1/tickets/{ticket_id}/history/export", headers=lea)
        assert export.status_code == 200 and words in export.text, export.text[-500:]
    assert len(notices()) == 1  # still one, after everything else notify heard


async def test_two_messages_split_off_into_a_new_ticket_with_the_link_back(desk: Desk) -> None:
    ann = desk.token("ann", "specialist", teams="A")
    split = await desk.http.post("/api/v1/tickets/SP/split", headers=ann,
                                 json={"message_ids": ["s2", "s3"], "subject": "March invoice"})
    assert split.status_code == 200, split.text
    [new_id] = split.json()["split_into"]
    await desk.wait(new_id, "TicketAbsorbed", timeout=60)
    new = await desk.settled(new_id, lambda d: d.get("split_from") == "SP", "the new ticket links back")
    assert (new["client"]["client_id"], new["line"], new["subject"]) == ("C-1", "first", "March invoice")
    assert new["message_count"] == 2
    seen = await history(desk, new_id, ann)
    [absorbed] = [h for h in seen if h["type"] == "TicketAbsorbed"]
    assert [m["message_id"] for m in absorbed["payload"]["messages"]] == ["s2", "s3"]
    original = await history(desk, "SP", ann)
    assert [h["payload"]["new_ticket_id"] for h in original if h["type"] == "TicketSplit"] == [new_id]
    twice = await desk.http.post("/api/v1/tickets/SP/split", headers=ann, json={"message_ids": ["s2"]})
    assert twice.status_code == 409 and twice.json()["code"] == "already_split", twice.text
