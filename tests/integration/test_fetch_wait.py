"""The consumers' adaptive fetch wait on the real broker (shared/runtime/fetch_wait.py): after a quiet spell the
fetches on the wire carry the long wait and come about once per wait; a record sent then is still delivered; while
records flow the wait is short again; nothing is lost or reordered."""

from __future__ import annotations

import asyncio
import operator
import time
from functools import partial

from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.kafka import Consumer, KafkaBus, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.fetch_log import FetchLog
from tests.support.testing import eventually, make_settings

WAIT = 60.0  # generous: CI runs on a loaded machine


async def test_the_wait_grows_while_idle_and_is_short_while_records_flow(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env, kafka_fetch_max_wait_ms=10, kafka_fetch_idle_wait_ms=800)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    topic = TICKETS_COMMANDS.full(settings.topic_prefix)
    seen: list[bytes] = []
    wait_when_handled: list[int | None] = []  # the wait right after the fetch that brought each record
    bus = KafkaBus(settings, "test")
    await bus.start()

    async def handle(value: bytes) -> None:
        seen.append(value)
        wait_when_handled.append(consumer.fetch_wait_ms)

    consumer: Consumer[bytes] = Consumer(bus, TICKETS_COMMANDS, "fetch-wait", handle, decoder=lambda raw: raw)
    await consumer.start()
    try:
        assert consumer._consumer is not None
        fetches = FetchLog(consumer._consumer._client)
        await bus.producer.send_and_wait(topic, b"first", partition=0)
        await eventually(lambda: seen == [b"first"], timeout=WAIT, message="the first record")

        await eventually(lambda: consumer.fetch_wait_ms == 800, timeout=WAIT, message="the idle wait")
        quiet_from = time.monotonic()
        await asyncio.sleep(3)
        idle = fetches.since(quiet_from)
        assert idle and all(w == 800 for w in idle[1:]), f"idle fetches carry the long wait: {idle}"
        assert len(idle) <= 10, f"about one fetch per wait while idle, not one per 10 ms: {len(idle)} in 3 s"

        await bus.producer.send_and_wait(topic, b"after-quiet", partition=1)
        await eventually(lambda: b"after-quiet" in seen, timeout=WAIT, message="a record after the quiet spell")
        assert wait_when_handled[-1] == 10, "records bring the short wait back"

        flow_from = time.monotonic()
        sent = [f"flow-{i}".encode() for i in range(20)]
        for i, value in enumerate(sent):  # a trickle: each record in a fetch of its own, the next sent once it is in
            await bus.producer.send_and_wait(topic, value, partition=i % 2)
            await eventually(partial(operator.contains, seen, value), timeout=WAIT, message=f"record {value!r}")
        assert set(wait_when_handled) == {10}, f"the wait is short whenever records come: {wait_when_handled}"
        assert len(seen) == 22 and len(set(seen)) == 22, f"none lost, none twice: {seen}"
        for p in (0, 1):  # in order within each partition
            assert [v for v in seen[2:] if int(v.split(b"-")[1]) % 2 == p] == sent[p::2]
        flowing = fetches.since(flow_from)  # a stall of a second on a loaded machine may let the wait grow once
        assert sum(w > 10 for w in flowing) <= 2, f"no long fetches while the trickle flowed: {flowing}"
    finally:
        await consumer.stop()
        await bus.stop()

