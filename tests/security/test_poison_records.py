"""Records that once stopped a consumer for good, replayed on the real broker.

A record too large to dead-letter whole made the dead-letter publish raise and ended the consumer for every
partition, silently: /healthz kept answering 200. Now such a record is parked as a truncated copy with its
coordinates, the next record is handled, and a consumer whose loop dies for any reason restarts and says so in
/healthz and /readyz until it is consuming again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import INBOUND_MESSAGES, TICKETS_COMMANDS
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics, read_dead_letters
from shared.runtime.service import service_app
from shared.runtime.settings import CommonSettings
from tests.support.testing import Tap, eventually, make_settings, running

WAIT = 120.0  # the machine is shared and loaded: conditions, not clocks, end each wait


@contextlib.asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        yield c


async def _produce(settings: CommonSettings, topic: str, key: bytes, value: bytes, compression: str | None) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, compression_type=compression,
                                max_request_size=16 * 1024 * 1024, acks="all")
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key)
        return int(meta.offset)
    finally:
        await producer.stop()


async def test_oversize_and_gzip_bomb_records_are_parked_truncated_and_intake_goes_on(env: dict[str, str]) -> None:
    settings = make_settings(IntakeSettings, env)
    topic = INBOUND_MESSAGES.full(settings.topic_prefix)
    valid = InboundMessage.model_validate({"channel": "web", "external_id": "after-poison",
                                           "sender": {"email": "poison@client.example"}, "text": "Still there?"})
    key = valid.key().encode()  # one partition: the valid record waits behind both poison records
    async with client(intake_app(settings)) as api, Tap(settings, TICKETS_COMMANDS) as commands:
        await eventually(lambda: _ok(api, "/readyz"), timeout=WAIT, message="intake consuming")
        big = await _produce(settings, topic, key, b'{"text":"' + b"A" * 2_200_000 + b'"}', None)
        bomb = await _produce(settings, topic, key, b'{"text":"' + b"B" * 5_000_000 + b'"}', "gzip")
        await _produce(settings, topic, key, valid.model_dump_json().encode(), None)

        await commands.wait(type="ReceiveMessage", timeout=WAIT)  # the valid record, behind both
        dead = await eventually(lambda: _parked(settings, 2), timeout=WAIT, message="both records dead-lettered")
        by_offset = {int(d["headers"]["x-dlq-source-offset"]): d for d in dead}
        for offset, size in ((big, 2_200_011), (bomb, 5_000_011)):
            headers = by_offset[offset]["headers"]
            assert headers["x-dlq-truncated"] == "true"
            assert headers["x-dlq-original-size"] == str(size)
            assert headers["x-dlq-source-topic"] == topic and headers["x-dlq-reason"].startswith("oversize")
            assert "x-dlq-source-partition" in headers
            assert 0 < len(by_offset[offset]["value"]) < settings.max_message_bytes
            assert by_offset[offset]["key"] == key
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/readyz")).status_code == 200


async def _ok(api: httpx.AsyncClient, path: str) -> bool:
    return (await api.get(path)).status_code == 200


async def _parked(settings: CommonSettings, count: int) -> list[dict[str, object]] | None:
    found = await read_dead_letters(settings, INBOUND_MESSAGES, timeout=10)
    return found if len(found) >= count else None


class Crash(BaseException):
    """Not an Exception: passes every ``except Exception`` on its way out of the consumer's loop."""


async def test_a_consumer_whose_loop_breaks_restarts_and_says_so_in_health(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    topic = TICKETS_COMMANDS.full(settings.topic_prefix)
    broken = {"handler": True}
    seen: list[bytes] = []

    async def handle(value: bytes) -> None:
        if value == b"crash" and broken["handler"]:
            raise Crash("handler broke the loop")
        seen.append(value)

    bus = KafkaBus(settings, "poison-test")
    await bus.start()
    consumer: Consumer[bytes] = Consumer(bus, TICKETS_COMMANDS, "loop-breaker", handle, decoder=lambda raw: raw,
                                         restart_backoff=0.2)
    app = service_app("loop-breaker", lambda: [consumer], ready=consumer.is_running)
    try:
        async with client(app) as api:
            await eventually(lambda: _ok(api, "/readyz"), timeout=WAIT, message="consumer running")
            await bus.producer.send_and_wait(topic, b"crash", key=b"k")
            down = await eventually(lambda: _down(api), timeout=WAIT, message="/healthz 503 after the crash")
            assert "Crash" in down["problems"][0]
            broken["handler"] = False
            await eventually(lambda: _ok(api, "/healthz"), timeout=WAIT, message="healthy after the restart")
            await eventually(lambda: b"crash" in seen, timeout=WAIT, message="the record handled after restart")

            async def broken_commit(self: AIOKafkaConsumer, *args: object, **kwargs: object) -> None:
                raise RuntimeError("commit broke the loop")

            monkeypatch.setattr(AIOKafkaConsumer, "commit", broken_commit)
            await bus.producer.send_and_wait(topic, b"next", key=b"k")
            down = await eventually(lambda: _down(api), timeout=WAIT, message="/healthz 503 after the commit")
            assert "commit broke the loop" in down["problems"][0]
            monkeypatch.undo()
            await eventually(lambda: _ok(api, "/healthz"), timeout=WAIT, message="healthy after the commit")
            await eventually(lambda: _ok(api, "/readyz"), timeout=WAIT, message="ready after the commit")
            assert b"next" in seen and consumer.restarts >= 2
    finally:
        await bus.stop()


async def _down(api: httpx.AsyncClient) -> dict[str, list[str]] | None:
    health, ready = await api.get("/healthz"), await api.get("/readyz")
    if health.status_code != 503:
        return None
    assert ready.status_code == 503 and ready.json()["problems"] == health.json()["problems"]
    return health.json()  # type: ignore[no-any-return]
