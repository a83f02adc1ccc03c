"""The inbound consumer hands a partition's fetched records to the batch path: on the real broker and database,
through the real ledger, a batch opens the same tickets one-by-one handling would, and a batch holding an invalid
record is handled one by one, where only that record is dead-lettered."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.settings import IntakeSettings
from services.intake.store import MESSAGES
from shared.contracts.topics import INBOUND_MESSAGES
from shared.runtime.kafka import ensure_topics, read_dead_letters
from tests.integration.intake.intake_support import IntakeDesk, seed
from tests.support.desk import running_desk
from tests.support.testing import eventually, make_settings

GOOD, BAD = 0, 1  # partitions: fetched together, their records come to intake in one call


def record(ext: str, sender: dict[str, str], **kw: Any) -> bytes:
    return json.dumps({"channel": "web", "external_id": ext, "sender": sender, "text": "help", **kw}).encode()


RECORDS = [
    (GOOD, record("g1", {"email": "anna@acme.example"})),
    (GOOD, record("g2", {"email": "u1@x.example"})),
    (GOOD, record("g3", {"chat_id": "tg:anna"})),  # Anna again: her ticket
    (GOOD, record("g4", {"email": "u1@x.example"})),  # u1 again: its ticket
    (GOOD, record("g2", {"email": "u1@x.example"})),  # a retry of g2: one message
    (GOOD, record("g5", {"email": "boris@acme.example"})),
    (BAD, b'{"channel": "web"'),  # undecodable: parked before the batch
    (BAD, record("b1", {"email": "x@y.example"}, classification={"topic": "astrology"})),  # fails the batch
    (BAD, record("b2", {"email": "greta@globex.example"})),  # still opens its ticket
]


async def test_fetched_records_are_handled_as_a_batch(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(IntakeSettings, env)

    async def seed_and_send(db: AsyncDatabase) -> None:  # before intake starts: each partition is one fetch
        await seed(db)
        await ensure_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for partition, value in RECORDS:
                await producer.send(INBOUND_MESSAGES.full(settings.topic_prefix), value, partition=partition)
            await producer.flush()
        finally:
            await producer.stop()

    before = _finds()
    with caplog.at_level(logging.WARNING):
        async with running_desk(env, None, ["intake"], base_url="http://intake", before=seed_and_send) as d:
            desk = IntakeDesk(**vars(d))
            tickets = await desk.wait_tickets(4)
            dead = await eventually(lambda: _dead(settings, 2), 30.0, message="two dead letters")
            by_client = {(t.get("client") or {}).get("contact_id") or t["sender"]["email"]: t for t in tickets}
            assert set(by_client) == {"anna", "u1@x.example", "boris", "greta"}
            await desk.wait_messages(by_client["anna"]["_id"], 2)  # e-mail and chat: one person, one ticket
            await desk.wait_messages(by_client["u1@x.example"]["_id"], 2)  # g2 (twice) and g4
            assert len(await desk.tickets()) == 4
    reasons = [d["headers"]["x-dlq-reason"] for d in dead]
    assert len(reasons) == 2 and any(r.startswith("undecodable") for r in reasons)
    assert any("unknown topic 'astrology'" in r for r in reasons)
    # one read of the recorded decisions per batch: both partitions', then each partition's again (and one per
    # record of the bad partition's last pass)
    assert _finds() - before <= 1 + 2 + 2 < len(RECORDS)
    fallbacks = [r for r in caplog.records if r.getMessage().startswith("batch failed")]
    assert len(fallbacks) == 1  # the bad partition's; the good one went through the batch path


def _finds() -> float:
    """Reads of intake's decisions so far, by any client in this process."""
    return REGISTRY.get_sample_value("frontline_db_commands_total", {"command": "find", "collection": MESSAGES}) or 0.0


async def _dead(settings: IntakeSettings, n: int) -> list[dict[str, Any]] | None:
    dead = await read_dead_letters(settings, INBOUND_MESSAGES)
    return dead if len(dead) >= n else None
