"""Chat, call and web-form messages on the real broker and database, observed through the real ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from intake_support import stack

from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ClientRef
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.contacts import CONTACTS
from shared.runtime.kafka import read_dead_letters
from tests.support.testing import eventually

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def test_chat_call_and_form_open_identified_tickets_and_join_open_ones(env: dict[str, str]) -> None:
    async with stack(env) as s:
        form = {"submission_id": "f-1", "email": "Anna@ACME.example", "subject": "No connection at the office",
                "text": "Since 9:00", "line": "plain", "topic": "internet", "type": "request",
                "subtopic": "outage"}
        r = await s.http.post("/api/v1/webhooks/form", json=form)
        assert r.status_code == 202, r.text
        form_id = r.json()["message_id"]
        r = await s.http.post("/api/v1/webhooks/chat", json={
            "platform": "tg", "session_id": "s-1", "message_id": "m-1", "user": {"id": "greta", "name": "Greta"},
            "text": "How much is the tariff?", "button": "not_technical", "topic": "tariffs", "type": "consultation",
            "product": "Unlimited"})
        assert r.status_code == 202, r.text
        r = await s.http.post("/api/v1/webhooks/call", json={
            "call_id": "call-1", "caller": "8 (912) 000-00-01", "event": "missed", "ivr_choice": "1"})
        assert r.status_code == 202, r.text

        tickets = {d["channel"]: d for d in await s.wait_tickets(3)}
        web, chat, phone = tickets["web"], tickets["chat"], tickets["phone"]
        assert web["client"]["client_id"] == "acme" and web["client"]["contract_number"] == "C-100"
        assert web["client"]["category"] == "premium" and web["service_team_id"] == "team-acme"
        assert web["client"]["contact_id"] == "anna" and web["sender"]["email"] == "anna@acme.example"
        assert web["requested_line"] == "plain" and web["urgency"] == "urgent" and not web["unidentified"]
        assert web["classification"]["subtopic"] == "outage"
        # the tree names the catalogue service of the node: routing offers to its group, reports group by it
        assert (web["classification"]["service_id"], web["classification"]["sub_service_id"]) == ("internet", "fiber")
        assert chat["classification"].get("service_id") is None
        assert chat["client"]["client_id"] == "globex" and chat["client"]["contract_number"] == "G-7"
        assert chat["requested_line"] == "not_technical" and chat["ticket_type"] == "consultation"
        assert phone["client"]["contact_id"] == "boris" and phone["client"]["contract_number"] == "C-100"
        assert phone["sender"]["phone"] == "+79120000001" and phone["requested_line"] == "technical"

        # the same client writes again (another chat session): the message joins the open ticket ...
        r = await s.http.post("/api/v1/webhooks/chat", json={
            "platform": "tg", "session_id": "s-2", "message_id": "m-2", "user": {"id": "greta"},
            "text": "And I was overcharged!", "topic": "tariffs", "type": "complaint", "product": "Unlimited"})
        assert r.status_code == 202
        joined = await s.wait_messages(chat["_id"], 2)
        assert joined["ticket_type"] == "complaint"  # Complaint > Consultation
        # ... and a duplicate delivery (webhook retried) adds nothing
        again = await s.http.post("/api/v1/webhooks/form", json=form)
        assert again.status_code == 202 and again.json()["message_id"] == form_id
        marker = envelope_for(t.AddNote(author_id="qa", text="marker"), web["_id"], occurred_at=NOW)
        await s.bus.publish(TICKETS_COMMANDS, marker)
        await s.events.wait(web["_id"], "NoteAdded")
        await s.events.wait(chat["_id"], "TicketClassified")
        doc = await s.db.tickets.find_one({"_id": web["_id"]})
        assert doc is not None and doc["message_count"] == 1
        assert [h["type"] for h in doc["history"]] == ["TicketOpened", "MessageReceived", "NoteAdded"]
        assert len(await s.tickets()) == 3
        assert await s.db.intake_messages.count_documents({}) == 4


async def test_unknown_sender_is_identified_after_an_agent_links_the_ticket(env: dict[str, str]) -> None:
    async with stack(env) as s:
        chat = {"platform": "tg", "session_id": "u-1", "message_id": "u-m1", "user": {"id": "stranger"},
                "text": "Hello?"}
        assert (await s.http.post("/api/v1/webhooks/chat", json=chat)).status_code == 202
        [ticket] = await s.wait_tickets(1)
        assert ticket["unidentified"] and ticket["client"] is None
        acme = ClientRef(client_id="acme", client_name="Acme", contract_id="C-100", contract_number="C-100",
                         category="premium", service_team_id="team-acme")
        tid = ticket["_id"]
        await s.bus.publish(TICKETS_COMMANDS, envelope_for(t.LinkClient(client=acme, linked_by="agent-1"), tid,
                                                           occurred_at=NOW, actor="agent-1"))
        await s.events.wait(tid, "ClientLinked")
        contacts = DirectoryStore(s.db, CONTACTS)
        learned = await eventually(lambda: contacts.list({"chat_ids": "tg:stranger"}), message="identity learned")
        assert learned[0].client_id == "acme" and learned[0].source == "linked"
        # still open: the next message joins it
        assert (await s.http.post("/api/v1/webhooks/chat", json={**chat, "message_id": "u-m2"})).status_code == 202
        await s.wait_messages(tid, 2)
        # resolved: the conversation is free, and the next message opens a new, identified ticket
        for cmd in (t.AssignTicket(agent_id="agent-1", mode="reassign"),
                    t.ResolveTicket(agent_id="agent-1", problem="no answer", solution="answered")):
            await s.bus.publish(TICKETS_COMMANDS, envelope_for(cmd, tid, occurred_at=NOW, actor="agent-1"))
        await s.events.wait(tid, "TicketResolved")
        await eventually(lambda: _no_claims(s.db, tid), message="conversation released")
        r = await s.http.post("/api/v1/webhooks/chat", json={**chat, "session_id": "u-2", "message_id": "u-m3"})
        assert r.status_code == 202
        [_, second] = await s.wait_tickets(2)
        assert second["_id"] != tid and not second["unidentified"]
        assert second["client"]["client_id"] == "acme" and second["client"]["contract_number"] == "C-100"


async def _no_claims(db, ticket_id: str) -> bool:  # type: ignore[no-untyped-def]
    return await db.intake_conversations.count_documents({"ticket_id": ticket_id}) == 0


async def test_bad_input_is_refused_with_problems_and_dead_letters(env: dict[str, str]) -> None:
    async with stack(env, max_body_bytes=5_000, max_attachment_bytes=1_000) as s:
        missing_product = await s.http.post("/api/v1/webhooks/form", json={
            "submission_id": "f-9", "email": "anna@acme.example", "text": "price?", "topic": "tariffs",
            "type": "consultation"})
        assert missing_product.status_code == 422
        assert "requires a product" in missing_product.json()["detail"]
        wrong_type = await s.http.post("/api/v1/inbound", json={
            "channel": "web", "external_id": "x1", "sender": {"email": "a@b.example"},
            "classification": {"topic": "internet", "type": "complaint"}})
        assert wrong_type.status_code == 422 and "not allowed" in wrong_type.json()["detail"]
        big = await s.http.post("/api/v1/webhooks/form", json={"submission_id": "f-big", "email": "a@b.example",
                                                               "text": "x" * 6_000})
        assert big.status_code == 413 and big.headers["content-type"].startswith("application/problem+json")
        assert "5000 bytes" in big.json()["detail"]
        too_big_file = await s.http.post("/api/v1/attachments", files={"file": ("big.bin", b"0" * 1_500)})
        assert too_big_file.status_code == 413 and "1000 bytes" in too_big_file.json()["detail"]
        bad_ivr = await s.http.post("/api/v1/webhooks/call", json={"call_id": "c", "caller": ""})
        assert bad_ivr.status_code == 422

        # attachments: metadata on the ticket, content in GridFS
        pdf = ("scan.pdf", b"%PDF-1.4 hello", "application/pdf")
        up = await s.http.post("/api/v1/attachments", files={"file": pdf})
        assert up.status_code == 201, up.text
        meta = up.json()
        unknown = await s.http.post("/api/v1/webhooks/form", json={
            "submission_id": "f-a0", "email": "anna@acme.example", "text": "see file", "attachment_ids": ["nope"]})
        assert unknown.status_code == 422
        ok = await s.http.post("/api/v1/webhooks/form", json={
            "submission_id": "f-a", "email": "anna@acme.example", "text": "see file", "attachment_ids": [meta["id"]]})
        assert ok.status_code == 202
        [ticket] = await s.wait_tickets(1)
        received = await s.events.wait(ticket["_id"], "MessageReceived")
        [att] = received[0].payload["content"]["attachments"]
        assert att == {"id": meta["id"], "filename": "scan.pdf", "content_type": "application/pdf", "size": 14}
        assert await s.app.state.service.store.attachment_content(meta["id"]) == b"%PDF-1.4 hello"

        # Kafka: records that fail validation go to the dead-letter topic with the reason
        producer = AIOKafkaProducer(bootstrap_servers=s.settings.kafka_bootstrap_servers)
        await producer.start()
        topic = INBOUND_MESSAGES.full(s.settings.topic_prefix)
        await producer.send_and_wait(topic, key=b"k", value=b'{"channel": "web"')
        await producer.send_and_wait(topic, key=b"k", value=json.dumps({
            "channel": "web", "external_id": "k1", "sender": {"email": "x@y.example"},
            "classification": {"topic": "astrology"}}).encode())
        await producer.send_and_wait(topic, key=b"k", value=json.dumps({
            "channel": "web", "external_id": "k2", "sender": {"email": "anna@acme.example"}, "text": "valid"}).encode())
        await producer.stop()
        dead = await eventually(lambda: _dead(s.settings, 2), message="two dead letters")
        reasons = [d["headers"]["x-dlq-reason"] for d in dead]
        assert any(r.startswith("undecodable") for r in reasons)
        assert any("unknown topic 'astrology'" in r for r in reasons)
        await s.wait_messages(ticket["_id"], 2)  # the valid record after them still joined Anna's ticket


async def _dead(settings, n: int):  # type: ignore[no-untyped-def]
    dead = await read_dead_letters(settings, INBOUND_MESSAGES)
    return dead if len(dead) >= n else None


async def test_per_contract_rule_joins_colleagues_and_per_conversation_splits_sessions(env: dict[str, str]) -> None:
    async with stack(env, ticket_rule="contract") as s:
        for who, mid in (("anna", "c-1"), ("boris", "c-2")):
            r = await s.http.post("/api/v1/webhooks/chat", json={
                "platform": "tg", "session_id": f"s-{who}", "message_id": mid, "user": {"id": who}, "text": "hi"})
            assert r.status_code == 202
        [ticket] = await s.wait_tickets(1)
        await s.wait_messages(ticket["_id"], 2)  # two colleagues, one contract, one ticket
    async with stack(env, ticket_rule="conversation") as s:
        for session, mid in (("x-1", "d-1"), ("x-2", "d-2")):
            r = await s.http.post("/api/v1/webhooks/chat", json={
                "platform": "tg", "session_id": session, "message_id": mid, "user": {"id": "anna"}, "text": "hi"})
            assert r.status_code == 202
        assert len(await s.wait_tickets(2, {"channel": "chat", "_id": {"$ne": ticket["_id"]}})) == 2
