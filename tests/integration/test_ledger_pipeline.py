"""The foundation pipeline on the real broker and database: intake → ledger → gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.handlers import rebuild
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import KafkaBus, ensure_topics, read_dead_letters
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, command_headers, eventually, make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def asgi(app: object, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)  # type: ignore[arg-type]


async def test_inbound_message_becomes_ticket_readable_through_gateway(env: dict[str, str]) -> None:
    gateway_settings = make_settings(GatewaySettings, env)
    ledger, intake, gateway = (tickets_app(make_settings(TicketsSettings, env)),
                               intake_app(make_settings(IntakeSettings, env)),
                               gateway_app(gateway_settings))
    async with running(ledger), running(intake), running(gateway), \
            asgi(intake, "http://intake") as ic, asgi(gateway, "http://gw") as gc:
        gc.headers["Authorization"] = f"Bearer {mint_token(gateway_settings, 'tester', 'administrator')}"
        resp = await ic.post("/api/v1/inbound", json={
            "channel": "web", "external_id": "form-1", "sender": {"email": "Anna@Client.example"},
            "subject": "No connection", "text": "The line is down since morning"})
        assert resp.status_code == 202, resp.text
        listing = await eventually(
            lambda: _nonempty(gc.get("/api/v1/tickets", params={"status": "new"})), message="ticket listed")
        ticket = listing[0]
        assert ticket["subject"] == "No connection" and ticket["channel"] == "web" and ticket["number"] >= 1
        full = (await gc.get(f"/api/v1/tickets/{ticket['id']}", params={"history": True})).json()
        assert [h["type"] for h in full["history"]] == ["TicketOpened", "MessageReceived"]
        assert all(h["ticket_id"] == ticket["id"] and h["causation_id"] for h in full["history"])
        assert (await gc.get("/api/v1/tickets/nope")).status_code == 404
        assert (await gc.get("/readyz")).status_code == 200
        bad = await ic.post("/api/v1/inbound", json={"channel": "pigeon", "external_id": "x", "sender": {}})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def _nonempty(resp_coro: object) -> list[dict[str, object]] | None:
    resp = await resp_coro  # type: ignore[misc]
    items = resp.json()["items"]
    return items or None


async def test_duplicate_command_has_one_effect(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    bus = KafkaBus(settings, "test")
    ledger = tickets_app(settings)
    async with running(ledger), Tap(settings, TICKETS_EVENTS) as tap:
        await bus.start()
        content = InboundContent(message_id="m1", channel=Channel.email, external_id="<m1@x>", text="hello",
                                 sender=Sender(email="c@x.org"), received_at=NOW)
        cmd = envelope_for(t.ReceiveMessage(channel=Channel.email, content=content), "T-dup", occurred_at=NOW)
        for _ in range(3):
            await bus.publish(TICKETS_COMMANDS, cmd)
        # the same external message under a different command id is also deduplicated
        again = envelope_for(t.ReceiveMessage(channel=Channel.email, content=content), "T-dup", occurred_at=NOW)
        await bus.publish(TICKETS_COMMANDS, again)
        marker = envelope_for(t.AddNote(author_id="a", text="marker"), "T-dup", occurred_at=NOW)
        await bus.publish(TICKETS_COMMANDS, marker)
        await tap.wait("T-dup", "NoteAdded")
        await bus.stop()
        db = database(mongo_client(settings), settings)
        doc = await db.tickets.find_one({"_id": "T-dup"})
        assert doc is not None
        assert [h["type"] for h in doc["history"]] == ["TicketOpened", "MessageReceived", "NoteAdded"]
        assert doc["version"] == 3 and doc["message_count"] == 1
        # replayed events keep their ids, so downstream dedupes them too
        ids = [e.id for e in tap.of("T-dup", "TicketOpened")]
        assert len(set(ids)) == 1
        rebuilt = rebuild(doc["history"])
        assert rebuilt is not None and rebuilt.version == doc["version"] and rebuilt.message_count == 1


async def test_malformed_records_go_to_dead_letter_and_consumer_continues(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    async with running(tickets_app(settings)), Tap(settings, TICKETS_EVENTS) as tap:
        await ensure_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        topic = TICKETS_COMMANDS.full(settings.topic_prefix)
        await producer.send_and_wait(topic, key=b"T-bad", value=b"{not json")
        await producer.send_and_wait(topic, key=b"T-bad", value=b'{"type":"FutureThing","ticket_id":"T-bad",'
                                                                 b'"occurred_at":"2026-01-01T00:00:00Z"}')
        event = envelope_for(t.TicketAssigned(agent_id="a", mode="auto"), "T-bad", occurred_at=NOW)
        await producer.send_and_wait(topic, key=b"T-bad", value=event.to_bytes(),
                                     headers=command_headers(settings, event, "gateway"))
        good = envelope_for(t.OpenTicket(channel=Channel.web, subject="ok"), "T-good", occurred_at=NOW)
        await producer.send_and_wait(topic, key=b"T-good", value=good.to_bytes(),
                                     headers=command_headers(settings, good))
        await producer.stop()
        await tap.wait("T-good", "TicketOpened")
        dead = await eventually(lambda: _dlq(settings, 3), message="three dead letters")
        reasons = sorted(d["headers"]["x-dlq-reason"] for d in dead)
        assert any("malformed" in r for r in reasons)
        assert any("unknown message type 'FutureThing'" in r for r in reasons)
        assert any("producer gateway may not send TicketAssigned" in r for r in reasons)  # an event, not a command
        assert all(d["headers"]["x-dlq-source-topic"] == topic for d in dead)


async def _dlq(settings: TicketsSettings, n: int) -> list[dict[str, object]] | None:
    dead = await read_dead_letters(settings, TICKETS_COMMANDS)
    return dead if len(dead) >= n else None


async def test_two_concurrent_claims_exactly_one_wins(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    bus = KafkaBus(settings, "test")
    async with running(tickets_app(settings)), Tap(settings, TICKETS_EVENTS) as tap:
        await bus.start()
        await bus.publish(TICKETS_COMMANDS, envelope_for(t.OpenTicket(channel=Channel.chat), "T-c", occurred_at=NOW))
        await bus.publish(TICKETS_COMMANDS, envelope_for(
            t.OfferTicket(agent_ids=["ann", "bob"], line="first"), "T-c", occurred_at=NOW))
        await tap.wait("T-c", "TicketOffered")
        claims = [envelope_for(t.ClaimTicket(agent_id=a), "T-c", occurred_at=NOW, actor=a) for a in ("ann", "bob")]
        await asyncio.gather(*(bus.publish(TICKETS_COMMANDS, c) for c in claims))
        assigned = await tap.wait("T-c", "TicketAssigned")
        rejected = await tap.wait("T-c", "CommandRejected")
        await bus.stop()
        assert len(assigned) == 1 and len(rejected) == 1
        winner = assigned[0].payload["agent_id"]
        loser = next(c for c in claims if c.actor != winner)
        assert rejected[0].causation_id == loser.id and rejected[0].payload["code"] == "already_claimed"
        assert winner in rejected[0].payload["reason"]
