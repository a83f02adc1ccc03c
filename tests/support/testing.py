"""Helpers for tests and benchmarks that run services against the real broker and database."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TopicSpec
from shared.runtime.command_auth import signer_for
from shared.runtime.ids import new_id
from shared.runtime.settings import CommonSettings
from shared.runtime.tasks import cancel

S = TypeVar("S", bound=CommonSettings)
T = TypeVar("T")


def isolated_env() -> dict[str, str]:
    """A fresh topic prefix and database for one test: tests share servers, never data."""
    tag = new_id()[:8]
    # notify's local sink (channels without a provider) writes under the test's own folder, not ./var/mail
    sink = Path(tempfile.gettempdir()) / "frontline-test-sinks" / tag
    return {"FRONTLINE_TOPIC_PREFIX": f"t{tag}.", "MONGODB_DB": f"frontline_t{tag}", "NOTIFY_SINK_DIR": str(sink)}


@contextmanager
def infra_env() -> Iterator[dict[str, str]]:
    """Servers for the whole test session: given by env, testcontainers, or embedded processes."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI"):
        yield {k: os.environ[k] for k in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI")} | {
            "KAFKA_IDEMPOTENCE": os.environ.get("KAFKA_IDEMPOTENCE", "true")}
    elif os.environ.get("FRONTLINE_TEST_INFRA") == "containers":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as kafka, \
                MongoDbContainer("mongo:7.0") as mongo:
            yield {"KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
                   "MONGODB_URI": mongo.get_connection_url(), "KAFKA_IDEMPOTENCE": "true"}
    else:
        from tools.infra import EmbeddedInfra

        with EmbeddedInfra() as infra:
            yield infra.env | FAST_GROUPS


# Short group timings so each consumer joins in about a second on the embedded broker.
FAST_GROUPS = {"KAFKA_SESSION_TIMEOUT_MS": "2000", "KAFKA_HEARTBEAT_INTERVAL_MS": "300"}


def make_settings(cls: type[S], env: dict[str, str], **overrides: Any) -> S:
    """Build settings from an explicit env (not os.environ) plus field overrides."""
    data: dict[str, Any] = {k.lower(): v for k, v in env.items()}
    prefix = str(cls.model_config.get("env_prefix", "")).lower()
    if prefix:  # NOTIFY_SINK_DIR in env reaches NotifySettings.sink_dir, as it does from os.environ
        data.update({k[len(prefix):]: v for k, v in list(data.items()) if k.startswith(prefix)})
    data["topic_prefix"] = env.get("FRONTLINE_TOPIC_PREFIX", "")
    data.update(overrides)
    return cls.model_validate(data)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Run an app's lifespan (its consumers and timers) inside the test's event loop."""
    async with app.router.lifespan_context(app):
        yield app


async def eventually(check: Callable[[], Any], timeout: float = 15.0,
                     interval: float = 0.05, message: str = "condition") -> T:
    """Poll until ``check`` returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def db_commands(collection: str, command: str | None = None) -> float:
    """Database commands this process's services sent to ``collection`` so far (of one ``command``, or any), as
    their clients count them (``frontline_db_commands_total``)."""
    from prometheus_client import REGISTRY

    return sum(s.value for fam in REGISTRY.collect() for s in fam.samples
               if s.name == "frontline_db_commands_total" and s.labels.get("collection") == collection
               and (command is None or s.labels.get("command") == command))


def command_headers(settings: CommonSettings, env: Envelope, producer: str = "test") -> list[tuple[str, bytes]]:
    """Headers for a command record a test writes with a bare producer: signed as ``producer`` (a service name),
    or, by default, as the owner of its type with the development keys, like a test's KafkaBus does."""
    signer = signer_for(settings, producer)
    return [("type", env.type.encode()), *(signer.headers(env, env.to_bytes()) if signer else [])]


class Tap:
    """Reads every record of a topic from the beginning, without a consumer group."""

    def __init__(self, settings: CommonSettings, spec: TopicSpec, raw: bool = False) -> None:
        self.settings, self.spec, self.raw = settings, spec, raw
        self.items: list[Any] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tap:
        from shared.runtime.kafka import _client_kwargs, ensure_topics

        await ensure_topics(self.settings, [self.spec, self.spec.dead_letter])
        topic = self.spec.full(self.settings.topic_prefix)
        self._consumer = AIOKafkaConsumer(**_client_kwargs(self.settings), group_id=None,
                                          enable_auto_commit=False, auto_offset_reset="earliest")
        await self._consumer.start()
        parts = self._consumer.partitions_for_topic(topic) or set(range(self.spec.partitions))
        tps = [TopicPartition(topic, p) for p in parts]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        self._task = asyncio.create_task(self._loop())
        return self

    async def _loop(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=100)
            except KafkaError:  # the broker is restarting (a fault test): read on once it is back
                await asyncio.sleep(0.5)
                continue
            for records in batches.values():
                for r in records:
                    self.take(r if self.raw else Envelope.from_bytes(r.value))

    def take(self, item: Any) -> None:
        """Keep every record; a long run overrides this to fold records into what it needs."""
        self.items.append(item)

    async def __aexit__(self, *exc: object) -> None:
        await cancel(self._task)
        if self._consumer:
            await self._consumer.stop()

    def of(self, ticket_id: str | None = None, type: str | None = None) -> list[Envelope]:
        return [e for e in self.items if (ticket_id is None or e.ticket_id == ticket_id)
                and (type is None or e.type == type)]

    async def wait(self, ticket_id: str | None = None, type: str | None = None, count: int = 1,
                   timeout: float = 15.0) -> list[Envelope]:
        return await eventually(lambda: (found := self.of(ticket_id, type)) and len(found) >= count and found,
                                timeout, message=f"{count}× {type} on {ticket_id}")


@asynccontextmanager
async def serving(app: Any, *, lifespan: Literal["on", "off"] = "off", port: int | None = None,
                  ) -> AsyncIterator[str]:
    """``app`` on a loopback port of its own (its lifespan run here only with ``lifespan="on"``); yields its URL."""
    import uvicorn

    from tools.ports import free_port

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None,
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), timeout=30, message="uvicorn started")
        if task.done():
            task.result()  # it could not start: say why
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
