"""kill -9 a service in the middle of a run, restart it: every ticket exists once, every command had one effect.

Runs with a few hundred tickets in `make test`; `make test-all` (the slow marker) runs the issue's 5,000.
Services are real processes on the real broker and database.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.kafka import ensure_topics
from shared.mongo import database, mongo_client
from shared.processes import ServiceProcess
from shared.schemas.inbound import InboundMessage
from shared.settings import CommonSettings
from shared.testing import make_settings
from shared.topics import INBOUND_MESSAGES


def inbound(i: int) -> bytes:
    return InboundMessage(channel="web", external_id=f"form-{i}", sender={"email": f"c{i}@kill.example"},
                          text=f"message {i}").model_dump_json().encode()


async def publish(settings: CommonSettings, start: int, stop: int, rate: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=2)
    await producer.start()
    t0 = time.perf_counter()
    for i in range(start, stop):
        await producer.send(INBOUND_MESSAGES.full(settings.topic_prefix), key=f"web:c{i}".encode(), value=inbound(i))
        if (delay := t0 + (i - start) / rate - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
    # the same messages again, as a retried webhook or a re-read mailbox would send them
    for i in range(start, stop, 7):
        await producer.send(INBOUND_MESSAGES.full(settings.topic_prefix), key=f"web:c{i}".encode(), value=inbound(i))
    await producer.flush()
    await producer.stop()


async def count_tickets(settings: CommonSettings) -> int:
    client = mongo_client(settings)
    try:
        return await database(client, settings).tickets.count_documents({})
    finally:
        await client.close()


async def verify(settings: CommonSettings, n: int) -> None:
    client = mongo_client(settings)
    db = database(client, settings)
    docs = [d async for d in db.tickets.find({}, {"history": 1, "sender": 1, "number": 1, "version": 1})]
    await client.close()
    senders = Counter(d["sender"]["email"] for d in docs)
    assert len(docs) == n and all(c == 1 for c in senders.values()), "every ticket exists once"
    assert len({d["number"] for d in docs}) == n, "ticket numbers are unique"
    for d in docs:
        types = [h["type"] for h in d["history"]]
        assert types == ["TicketOpened", "MessageReceived"], f"one effect per command: {types}"
        ids = [h["id"] for h in d["history"]]
        assert len(ids) == len(set(ids)) and d["version"] == len(ids)


def _run(env: dict[str, str], logs: Path, n: int, victims: list[str]) -> None:
    settings = make_settings(CommonSettings, env)
    asyncio.run(ensure_topics(settings))
    procs = {name: ServiceProcess(name, env, logs).start() for name in ("tickets", "intake")}
    try:
        for p in procs.values():
            p.wait_ready()
        rate = max(n / 6, 40.0)  # spread the run over a few seconds so the kills land mid-stream
        chunk = n // (len(victims) + 1)
        for k, victim in enumerate(victims):
            asyncio.run(publish(settings, k * chunk, (k + 1) * chunk, rate))
            procs[victim].kill()  # SIGKILL: no shutdown, no offset commit for the batch in flight
            asyncio.run(publish(settings, (k + 1) * chunk, (k + 1) * chunk + 5, rate))  # while it is down
            procs[victim] = ServiceProcess(victim, env, logs, port=procs[victim].port).start()
            procs[victim].wait_ready()
        asyncio.run(publish(settings, len(victims) * chunk + 5, n, rate))
        deadline = time.monotonic() + 60 + n / 20
        while time.monotonic() < deadline and asyncio.run(count_tickets(settings)) < n:
            time.sleep(0.5)
        time.sleep(2)  # anything still in flight would now show up as a duplicate
        asyncio.run(verify(settings, n))
    finally:
        for p in procs.values():
            p.stop()


def test_kill_ledger_and_intake_mid_run(env: dict[str, str], tmp_path: Path) -> None:
    _run(env, tmp_path, int(os.environ.get("FRONTLINE_FAULT_TICKETS", "300")), ["tickets", "intake"])


@pytest.mark.slow
def test_kill_each_service_in_a_5000_ticket_run(env: dict[str, str], tmp_path: Path) -> None:
    _run(env, tmp_path, 5000, ["tickets", "intake"])
