"""Poison records interleaved with good ones: every good one processed, every bad one dead-lettered with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.envelope import envelope_for
from shared.kafka import ensure_topics, read_dead_letters
from shared.mongo import database, mongo_client
from shared.schemas import tickets as t
from shared.schemas.common import Channel
from shared.testing import eventually, make_settings, running
from shared.topics import INBOUND_MESSAGES, TICKETS_COMMANDS

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LIMIT = 20_000  # max_message_bytes for this test, so "oversize" stays cheap


def ledger_poison() -> list[tuple[bytes, str]]:
    future = envelope_for(t.OpenTicket(channel=Channel.web), "T-x", occurred_at=NOW).model_dump(mode="json")
    future["version"] = 7
    unknown = dict(future, type="TicketTeleported", version=1)
    big = envelope_for(t.OpenTicket(channel=Channel.web, text="x" * 50_000), "T-big", occurred_at=NOW).to_bytes()
    return [(b"\x00\xffnot json", "malformed envelope"), (json.dumps(unknown).encode(), "unknown message type"),
            (json.dumps(future).encode(), "from the future"), (big, "oversize")]


async def test_ledger_survives_poison(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env, max_message_bytes=LIMIT)
    await ensure_topics(settings)
    async with running(tickets_app(settings)):
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, max_request_size=200_000)
        await producer.start()
        topic = TICKETS_COMMANDS.full(settings.topic_prefix)
        poison = ledger_poison()
        for i in range(20):
            good = envelope_for(t.OpenTicket(channel=Channel.web, subject=f"good {i}"), f"T-{i}", occurred_at=NOW)
            await producer.send(topic, key=good.ticket_id.encode(), value=good.to_bytes())
            bad, _ = poison[i % len(poison)]
            await producer.send(topic, key=f"T-{i}".encode(), value=bad)
        await producer.flush()
        await producer.stop()
        client = mongo_client(settings)
        db = database(client, settings)
        await eventually(lambda: _count(db, 20), message="20 good tickets")
        dead = await eventually(lambda: _dead(settings, TICKETS_COMMANDS, 20), message="20 dead letters")
        await client.close()
    reasons = [d["headers"]["x-dlq-reason"] for d in dead]
    for _, expected in poison:
        assert sum(expected in r for r in reasons) == 5, (expected, reasons)


async def test_intake_survives_poison(env: dict[str, str]) -> None:
    settings = make_settings(IntakeSettings, env, max_message_bytes=LIMIT)
    ledger = make_settings(TicketsSettings, env)
    await ensure_topics(settings)
    async with running(tickets_app(ledger)), running(intake_app(settings)):
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, max_request_size=200_000)
        await producer.start()
        topic = INBOUND_MESSAGES.full(settings.topic_prefix)
        good = {"channel": "web", "text": "hello"}
        poison = [
            b"{broken",
            json.dumps({**good, "external_id": "p1", "sender": {"email": "p@x.org"}, "schema_version": 9}).encode(),
            json.dumps({**good, "channel": "fax", "external_id": "p2", "sender": {}}).encode(),
            json.dumps({**good, "external_id": "p3", "sender": {"email": "p@x.org"}, "text": "y" * 30_000}).encode(),
        ]
        for i in range(12):
            ok = {**good, "external_id": f"g{i}", "sender": {"email": f"c{i}@x.org"}}
            await producer.send(topic, key=f"web:c{i}".encode(), value=json.dumps(ok).encode())
            await producer.send(topic, key=b"web:p", value=poison[i % len(poison)])
        await producer.flush()
        await producer.stop()
        client = mongo_client(settings)
        db = database(client, settings)
        await eventually(lambda: _count(db, 12), message="12 good tickets")
        dead = await eventually(lambda: _dead(settings, INBOUND_MESSAGES, 12), message="12 dead letters")
        await client.close()
    assert all(d["headers"]["x-dlq-reason"] for d in dead)
    assert sum("oversize" in d["headers"]["x-dlq-reason"] for d in dead) == 3


async def _count(db, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await db.tickets.count_documents({}) == n


async def _dead(settings, spec, n: int):  # type: ignore[no-untyped-def]
    dead = await read_dead_letters(settings, spec)
    return dead if len(dead) >= n else None
