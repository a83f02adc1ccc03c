"""The faust-streaming app: one agent consuming ``tickets.events`` in the SLA consumer group.

Faust owns consumption, the group membership and offset commits (at least once: an event is
acked after the agent handled it; redelivery is a no-op because clocks remember applied event
ids). Durable timer state is NOT a faust Table: a table recovered from its changelog on the
embedded broker came back short after a restart, so timers live in MongoDB and the partitions
faust assigns to this worker decide which timers it fires.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import faust

from shared.contracts.envelope import Envelope, Message
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.fetch_wait import FetchWait
from shared.runtime.group_leave import MemberFile, leave_predecessor, remember
from shared.runtime.health import watch
from shared.runtime.kafka import KafkaBus, decode_envelope
from shared.runtime.pipeline import RawRecord, RecordPipeline
from shared.runtime.settings import CommonSettings

from .faust_fetch import adapt_fetch_wait, fetch_wait_ms

log = logging.getLogger(__name__)
Handler = Callable[[Envelope, Message], Awaitable[None]]
BatchHandler = Callable[[list[tuple[Envelope, Message]]], Awaitable[None]]


def faust_config(settings: CommonSettings, app_id: str, commit_interval: float,
                 buffer_maxsize: int = 4096, group_instance_id: str | None = None) -> dict[str, Any]:
    """Our shared Kafka settings in faust's terms (group timings, security, no web server, no leader topic)."""
    conf: dict[str, Any] = {
        "broker": [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap_servers.split(",")],
        "web_enabled": False,
        "autodiscover": False,
        "topic_allow_declare": False,  # topics come from shared.contracts.topics (ensure_topics / Strimzi)
        "topic_disable_leader": True,  # no <id>-__assignor-__leader topic
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.kafka_session_timeout_ms / 1000,
        "broker_heartbeat_interval": settings.kafka_heartbeat_interval_ms / 1000,
        "broker_commit_interval": commit_interval,
        "consumer_group_instance_id": group_instance_id,
        # Faust's producer enables idempotence only for exactly_once; Tansu refuses idempotent producers,
        # so exactly-once (transactions) is requested only where the broker supports idempotence.
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "producer_max_request_size": max(settings.max_message_bytes * 2, 1_048_576),
        "consumer_max_fetch_size": max(settings.max_message_bytes * 2, 1_048_576),
        "stream_wait_empty": False,
        # faust takes a partition off the fetcher while its buffer is under pressure and puts it back when the
        # buffer drains; in a 5,000-ticket fault run the worker stopped receiving anything for good mid-backlog
        # (its handler idle, every partition behind; upstream faust-streaming issues #175 and #640). A buffer
        # that a backlog does not fill keeps that path out of the way.
        "stream_buffer_maxsize": buffer_maxsize,
        "store": "memory://",
        "datadir": str(Path(tempfile.gettempdir()) / f"frontline-faust-{app_id}"),
        "loghandlers": [],
        "value_serializer": "raw",
        "key_serializer": "raw",
    }
    if settings.kafka_sasl_mechanism:
        conf["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism)
    return conf


class FaustStream:
    """Builds and runs the faust app inside the service's event loop (web and signal handling are uvicorn's).

    Ownership is fenced across rebalances. Kafka hands a revoked partition to another worker only after
    every member has rejoined, and a member rejoins only after its revoke callback returns; so the callback
    (``_revoked``) first makes ``owned_partitions`` empty (no new timer batch or sweep starts, though the
    consumer still reports the old assignment until the new one arrives), then waits for the event being
    handled and for ``on_revoke`` (the timer loop's batch in flight). Without that, the old owner's batch
    could still be saving and publishing while the new owner fires the same timers: a second publish of
    the same ids, and timer syncs from two views of one ticket racing each other.
    """

    def __init__(self, settings: CommonSettings, bus: KafkaBus, handler: Handler, *,
                 group: str = "frontline-sla", commit_interval: float = 0.5, retries: int | None = None,
                 drain_seconds: float = 10.0, buffer_maxsize: int = 4096,
                 group_instance_id: str | None = None, worker: str | None = None,
                 batch: BatchHandler | None = None, batch_window: float = 0.0, batch_max: int = 500) -> None:
        self.settings, self.bus, self.handler = settings, bus, handler
        # Given ``batch`` and a window, events are taken in batches gathered for up to ``batch_window`` seconds and
        # acked (so committed) only after the whole batch was handled: its writes group across tickets.
        self.batch = batch if batch_window > 0 else None
        self.batch_window, self.batch_max = batch_window, batch_max
        self.app_id = f"{settings.topic_prefix}{group}"
        self.commit_interval, self.buffer_maxsize = commit_interval, buffer_maxsize
        self.group_instance_id = group_instance_id
        # a named worker leaves its killed predecessor's membership before joining (a static member needs not)
        self.member_file = MemberFile.of(self.app_id, worker) if worker and not group_instance_id else None
        self.topic_name = TICKETS_EVENTS.full(settings.topic_prefix)
        self.pipeline = RecordPipeline(
            decode_envelope, self._deliver, self._park, max_bytes=settings.max_message_bytes,
            retries=settings.handler_retries if retries is None else retries, service=bus.service,
            topic=TICKETS_EVENTS.name, group=self.app_id, tracing=bus.tracing)
        self.app: faust.App | None = None
        self.drain_seconds = drain_seconds
        self.on_revoke: list[Callable[[], Awaitable[None]]] = []  # awaited before a revocation completes
        self.on_assign: list[Callable[[], Awaitable[None]]] = []  # awaited on each new assignment
        self._fenced = False  # from a revocation (or stop) until the next assignment
        self._handling = asyncio.Lock()  # held while an event is handled
        self.failure: str | None = None  # why the agent last crashed, until faust has restarted it
        self._unwatch: Callable[[], None] = lambda: None

    def build(self) -> faust.App:
        app = faust.App(self.app_id, **faust_config(self.settings, self.app_id, self.commit_interval,
                                                       self.buffer_maxsize, self.group_instance_id))
        adapt_fetch_wait(app, FetchWait.from_settings(self.settings))  # short while events come, long at idle
        topic = app.topic(self.topic_name, key_serializer="raw", value_serializer="raw",
                          partitions=TICKETS_EVENTS.partitions, internal=False)

        async def clocks(stream: faust.StreamT) -> None:
            self.failure = None  # (re)started by faust's supervisor
            try:
                if self.batch is None:
                    async for event in stream.events():
                        await self._one(event.message)
                else:
                    async for events in cast(Any, stream).take_events(self.batch_max, within=self.batch_window):
                        await self._many([event.message for event in events])
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # faust restarts the agent; until it has, /healthz says why
                self.failure = f"agent crashed: {exc!r}"[:500]
                log.error("sla agent crashed", exc_info=exc)
                raise

        app.agent(topic, name=f"{self.app_id}.clocks")(clocks)
        app.on_partitions_assigned.connect(cast(Any, self._assigned))  # mode's stubs reject bound async methods
        app.on_partitions_revoked.connect(cast(Any, self._revoked))
        return app

    async def _assigned(self, sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        """faust's ``on_partitions_assigned`` signal: (app, the whole new assignment)."""
        for hook in self.on_assign:
            await hook()
        self._fenced = False
        self._remember_member()
        log.info("sla partitions assigned", extra={"partitions": self._ours(args[0] if args else set())})

    async def _revoked(self, sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        """faust's ``on_partitions_revoked`` signal, before this worker rejoins the group: nothing of the old
        assignment may still be in flight when it does."""
        self._fenced = True
        log.info("sla partitions revoked", extra={"partitions": self._ours(args[0] if args else set())})
        try:
            async with asyncio.timeout(self.drain_seconds):
                async with self._handling:
                    pass
                for hook in self.on_revoke:
                    await hook()
        except TimeoutError:
            log.warning("sla work on revoked partitions still running at the rebalance",
                        extra={"seconds": self.drain_seconds})

    def _ours(self, tps: set[Any]) -> list[int]:
        return sorted(tp.partition for tp in tps if tp.topic == self.topic_name)

    def _remember_member(self) -> None:
        if self.member_file is None or self.app is None:
            return
        try:  # faust keeps its aiokafka consumer in its consumer thread and offers no public accessor
            consumer = self.app.consumer._thread._ensure_consumer()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 (a faust upgrade may move it: the restart only waits longer)
            log.warning("sla member id not recorded", extra={"error": repr(exc)})
            return
        remember(self.member_file, consumer)

    async def start(self) -> None:
        if self.member_file is not None:
            await leave_predecessor(self.settings, self.app_id, self.member_file)
        self.app = self.build()
        await self.app.start()
        self._unwatch = watch("sla stream", self.problem)

    def problem(self) -> str | None:
        """For /healthz: None while the app and its agent run, else why not."""
        if self.app is not None and self.app.crashed:
            return f"faust app crashed: {self.app.crash_reason!r}"[:500]
        return self.failure

    async def stop(self) -> None:
        """Let the event being handled finish (bounded), then stop with the lock held, so faust cancels the
        agent between events, not between a handler's timer sync and its clock save."""
        self._unwatch()
        if self.app is None:
            return
        self._fenced = True
        held = False
        try:
            async with asyncio.timeout(self.drain_seconds):
                await self._handling.acquire()
                held = True
        except TimeoutError:
            log.warning("sla event still being handled at stop", extra={"seconds": self.drain_seconds})
        try:
            await self.app.stop()
        finally:
            if held:
                self._handling.release()
            self.app = None

    def is_running(self) -> bool:
        return self.app is not None and self.app.started and not self.app.should_stop

    def owned_partitions(self) -> set[int]:
        """Partitions of tickets.events this worker is assigned: it fires exactly their timers (none while a
        rebalance is under way: see the class)."""
        if self._fenced or self.app is None or not self.app.started:
            return set()
        try:
            assigned = self.app.consumer.assignment()
        except Exception:  # consumer not ready or mid-rebalance
            return set()
        return {tp.partition for tp in assigned if tp.topic == self.topic_name}

    @property
    def fetch_wait_ms(self) -> int | None:
        """The wait in the consumer's next fetch request (None before it started)."""
        return fetch_wait_ms(self.app)

    @property
    def processed(self) -> int:
        return self.pipeline.processed

    async def _one(self, message: Any) -> None:
        async with self._handling:
            await self.pipeline.process(RawRecord.of(message.topic, message.partition, message.offset, message.key,
                                                     message.value, message.headers))

    async def _many(self, messages: list[Any]) -> None:
        """A batch, in consumed order (each ticket's events in its partition's order), handled at once (see
        ``RecordPipeline.process_batch``: a failed batch is handled again record by record)."""
        assert self.batch is not None
        async with self._handling:
            await self.pipeline.process_batch(
                [RawRecord.of(m.topic, m.partition, m.offset, m.key, m.value, m.headers) for m in messages],
                self.batch)

    async def _deliver(self, delivery: tuple[Envelope, Message]) -> None:
        await self.handler(*delivery)

    async def _park(self, record: RawRecord, reason: str) -> None:
        await self.bus.dead_letter(TICKETS_EVENTS, record, reason, self.app_id)
