"""Poison records interleaved with good ones: every good one processed, every bad one dead-lettered with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_COMMANDS, TICKETS_EVENTS, TopicSpec
from shared.runtime.kafka import ensure_topics, read_dead_letters
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import command_headers, eventually, make_settings, running

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
        poison = ledger_poison()
        await interleave(settings, TICKETS_COMMANDS, poison, [
            envelope_for(t.OpenTicket(channel=Channel.web, subject=f"good {i}"), f"T-{i}", occurred_at=NOW)
            for i in range(20)])
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
    reasons = [d["headers"]["x-dlq-reason"] for d in dead]
    # i % 4: malformed JSON, a schema version from the future, an unknown channel, oversize — three each
    assert sum(r.startswith("undecodable") and "json" in r.lower() for r in reasons) == 3, reasons
    assert sum(r.startswith("undecodable") and "schema_version" in r for r in reasons) == 3, reasons
    assert sum(r.startswith("undecodable") and "channel" in r for r in reasons) == 3, reasons
    assert sum(r.startswith("oversize") for r in reasons) == 3, reasons
    assert all(d["headers"]["x-dlq-source-topic"] == INBOUND_MESSAGES.full(settings.topic_prefix) for d in dead)


async def test_event_consumers_survive_poison(env: dict[str, str]) -> None:
    """tickets.events readers: the aiokafka consumer (routing) and the faust stream (SLA) each dead-letter
    every bad record with its reason under their own group, and handle every good one around them."""
    sla_settings = make_settings(SlaSettings, env, max_message_bytes=LIMIT)
    routing_settings = make_settings(RoutingSettings, env, max_message_bytes=LIMIT)
    await ensure_topics(sla_settings)
    async with running(sla_app(sla_settings)), running(routing_app(routing_settings)):
        poison = event_poison()
        await interleave(sla_settings, TICKETS_EVENTS, poison, [
            envelope_for(t.TicketOpened(channel=Channel.web, number=i + 1, text="hi"), f"E-{i}", occurred_at=NOW)
            for i in range(8)])
        client = mongo_client(sla_settings)
        db = database(client, sla_settings)
        await eventually(lambda: _counted(db.sla_clocks, 8), timeout=30, message="8 SLA clocks")
        await eventually(lambda: _counted(db.routing_tickets, 8), timeout=30, message="8 routing views")
        dead = await eventually(lambda: _dead(sla_settings, TICKETS_EVENTS, 16), timeout=30,
                                message="8 dead letters from each group")
        await client.close()
    for group in (f"{sla_settings.topic_prefix}{sla_settings.consumer_group}", f"{sla_settings.topic_prefix}routing"):
        reasons = [d["headers"]["x-dlq-reason"] for d in dead if d["headers"]["x-dlq-group"] == group]
        assert len(reasons) == 8, (group, reasons)
        for _, expected in poison:
            assert sum(expected in r for r in reasons) == 2, (group, expected, reasons)


def event_poison() -> list[tuple[bytes, str]]:
    opened = envelope_for(t.TicketOpened(channel=Channel.web, number=99), "E-x", occurred_at=NOW)
    future = opened.model_dump(mode="json")
    future["version"] = 7
    unknown = dict(future, type="TicketTeleported", version=1)
    big = envelope_for(t.TicketOpened(channel=Channel.web, number=98, text="x" * 50_000), "E-big", occurred_at=NOW)
    return [(b"{]not json", "malformed envelope"), (json.dumps(unknown).encode(), "unknown message type"),
            (json.dumps(future).encode(), "from the future"), (big.to_bytes(), "oversize")]


async def _counted(collection, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await collection.count_documents({}) == n


async def _count(db, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await db.tickets.count_documents({}) == n


async def _dead(settings, spec, n: int):  # type: ignore[no-untyped-def]
    dead = await read_dead_letters(settings, spec)
    return dead if len(dead) >= n else None


async def interleave(settings: CommonSettings, spec: TopicSpec, poison: list[tuple[bytes, str]],
                     goods: list[Envelope]) -> None:
    """Each good record, then a poisoned one under the same key (so both land on one partition, in turn)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, max_request_size=200_000)
    await producer.start()
    topic = spec.full(settings.topic_prefix)
    for i, good in enumerate(goods):
        await producer.send(topic, key=good.ticket_id.encode(), value=good.to_bytes(),
                            headers=command_headers(settings, good))  # a command passes the ledger's producer check
        await producer.send(topic, key=good.ticket_id.encode(), value=poison[i % len(poison)][0])
    await producer.flush()
    await producer.stop()
