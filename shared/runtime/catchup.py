"""Where a partition ends: as a fetch response reports it, never as ListOffsets does.

The embedded broker (Tansu) answers ListOffsets(latest) with the first offset of the partition's last record batch
plus one, so ``end_offsets``, ``seek_to_end`` and ``auto_offset_reset="latest"`` land inside that batch whenever it
holds several records. Its fetch responses carry the right high watermark, as Kafka's do, so "read to the end" and
"start after what is there" are decided from a fetch issued after the call (tests/integration/test_caught_up.py
pins this on multi-record batches).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

log = logging.getLogger(__name__)


def _fetched_end(consumer: AIOKafkaConsumer, tp: TopicPartition, since_ms: int, read_committed: bool) -> int | None:
    """The end a fetch response issued after ``since_ms`` reported (a read_committed reader stops at the last
    stable offset: records of open transactions are not for it yet); None before such a response."""
    if (consumer.last_poll_timestamp(tp) or 0) < since_ms:
        return None
    end = consumer.last_stable_offset(tp) if read_committed else consumer.highwater(tp)
    return None if end is None or end < 0 else int(end)


async def read_to_end(consumer: AIOKafkaConsumer, tps: Sequence[TopicPartition], *, timeout: float,
                      keep: Callable[[ConsumerRecord], None] = lambda record: None,
                      read_committed: bool = False) -> bool:
    """Read the assigned ``tps`` from their positions until each reaches the end that a fetch issued after this
    call reports; ``keep`` gets every record read. False if ``timeout`` passed first."""
    since_ms = int(time.time() * 1000)
    deadline = time.monotonic() + timeout
    while True:
        ends = {tp: _fetched_end(consumer, tp, since_ms, read_committed) for tp in tps}
        positions = {tp: await consumer.position(tp) for tp in tps}
        if all(end is not None and positions[tp] >= end for tp, end in ends.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        for records in (await consumer.getmany(*tps, timeout_ms=200)).values():
            for record in records:
                keep(record)
        await asyncio.sleep(0)


async def seek_past_history(consumer: AIOKafkaConsumer, tps: Sequence[TopicPartition], *,
                            timeout: float = 30.0) -> bool:
    """Position a reader that wants only what comes next after every record already there: from ``seek_to_end``
    (at or before the end on either broker; Tansu's S3 engine answers 1) to the end a fetch reports, without
    reading the records in between. False (and positions left as they are) if no fetch answered in time."""
    await consumer.seek_to_end(*tps)
    since_ms = int(time.time() * 1000)
    deadline = time.monotonic() + timeout
    while any(_fetched_end(consumer, tp, since_ms, False) is None for tp in tps):
        if time.monotonic() >= deadline:
            log.warning("no fetch answered in time: older records may be read", extra={"seconds": timeout})
            return False
        await consumer.getmany(*tps, timeout_ms=200)  # records from before the end: not wanted
    for tp in tps:
        end = _fetched_end(consumer, tp, since_ms, False)
        if end is not None and end > await consumer.position(tp):
            consumer.seek(tp, end)
    return True
