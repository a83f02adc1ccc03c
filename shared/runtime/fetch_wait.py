"""A consumer's fetch wait that lengthens only while nothing arrives.

The broker may hold a fetch that finds nothing new for up to the consumer's fetch wait. Kafka answers a waiting
fetch as soon as a record arrives, but the embedded Tansu holds it for the whole wait, so there a long wait delays
every record and a short one keeps each idle consumer asking the broker a hundred times a second
(docs/performance.md, "Idle desk"). So: the short wait while records flow; once none has come for
``QUIET_AFTER_S``, the wait doubles every ``DOUBLING_S`` of quiet up to the idle wait; the first fetch that returns
records brings the short wait back. After ``LONG_QUIET_S`` of quiet it grows once more, to the long idle wait: a
desk quiet for half a minute asks the broker a third as often. The cost is the first record after a quiet spell,
which may wait up to the wait then (on Tansu, measured: p50 160 / p99 520 ms at 1 s, 260 / 1,360 ms at 3 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.runtime.settings import CommonSettings

log = logging.getLogger(__name__)

QUIET_AFTER_S = 1.0  # records this recent count as flowing: a burst's gaps keep the short wait
LONG_QUIET_S = 30.0  # quiet this long, the wait grows on to the long idle wait
DOUBLING_S = 0.2  # then 10 ms grows to 1 s in about 1.3 s: by time, as an idle loop looks only once a second
# aiokafka's fetch routine wakes on every event it acts on (a fetch answered, records taken, a seek, a new
# assignment); this timeout only bounds how late it looks again without one. Its default (200 ms) is five wake-ups a
# second per idle consumer.
ROUTINE_TIMEOUT_MS = 1000
# How often a consumer loop's getmany comes back empty-handed: records and a finished partition wake it at once, so
# this is only how often an idle loop looks round (progress for health, a retry of what failed).
IDLE_LOOK_MS = 1000


class FetchWait:
    """The fetch wait to ask for next, from when records last came (pure: the clock is injected)."""

    def __init__(self, short_ms: int, idle_ms: int, *, long_idle_ms: int = 0, long_quiet_s: float = LONG_QUIET_S,
                 quiet_after_s: float = QUIET_AFTER_S, doubling_s: float = DOUBLING_S,
                 now: Callable[[], float] = time.monotonic) -> None:
        if short_ms < 0 or idle_ms < 0 or long_idle_ms < 0:
            raise ValueError(f"fetch waits must not be negative: short {short_ms} ms, idle {idle_ms} ms, "
                             f"long idle {long_idle_ms} ms")
        self.short_ms, self.idle_ms = short_ms, max(idle_ms, short_ms)  # an idle wait below the short one: off
        self.long_idle_ms, self.long_quiet_s = max(long_idle_ms, self.idle_ms), long_quiet_s  # likewise
        self.quiet_after_s, self.doubling_s, self.now = quiet_after_s, doubling_s, now
        self.wait_ms = short_ms
        self._last_records = now()

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> FetchWait:
        return cls(settings.kafka_fetch_max_wait_ms, settings.kafka_fetch_idle_wait_ms,
                   long_idle_ms=settings.kafka_fetch_long_idle_wait_ms)

    def fetched(self, records: bool) -> int:
        """A fetch came back with records or without: the wait for the next one."""
        now = self.now()
        if records:
            self._last_records, self.wait_ms = now, self.short_ms
        elif (quiet := now - self._last_records - self.quiet_after_s) >= 0:
            doublings = min(quiet / self.doubling_s, 32.0)  # bounded: 2 ** 32 ms is past any idle wait
            cap = self.long_idle_ms if now - self._last_records >= self.long_quiet_s else self.idle_ms
            self.wait_ms = max(self.wait_ms, min(cap, round(max(self.short_ms, 1) * 2 ** doublings)))
        return self.wait_ms


class AdaptiveConsumer(AIOKafkaConsumer):  # type: ignore[misc]
    """aiokafka's consumer with a FetchWait. aiokafka reads its fetcher's wait afresh for every fetch request but
    offers no setter, so the one attribute that holds it is set here; it is set inside ``getmany`` before the
    caller resumes, so the fetch aiokafka sends after records were taken already carries the short wait.
    tests/integration/test_fetch_wait.py checks on the wire that it takes effect."""

    def __init__(self, *topics: str, fetch_wait: FetchWait, **kwargs: Any) -> None:
        kwargs.setdefault("consumer_timeout_ms", ROUTINE_TIMEOUT_MS)
        super().__init__(*topics, fetch_max_wait_ms=fetch_wait.wait_ms, **kwargs)
        self.fetch_wait = fetch_wait

    @property
    def fetch_wait_ms(self) -> int | None:
        """The wait aiokafka puts in its next fetch request (None before start)."""
        fetcher = getattr(self, "_fetcher", None)
        return getattr(fetcher, "_fetch_max_wait_ms", None)

    async def start(self) -> None:
        await super().start()
        if self.fetch_wait_ms is None:  # an aiokafka that keeps the wait elsewhere: run on the short one
            log.warning("aiokafka's fetcher has no _fetch_max_wait_ms: the fetch wait stays fixed")

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None,
                      ) -> dict[TopicPartition, list[ConsumerRecord]]:
        batches: dict[TopicPartition, list[ConsumerRecord]] = await super().getmany(
            *partitions, timeout_ms=timeout_ms, max_records=max_records)
        self._apply(self.fetch_wait.fetched(bool(batches)))
        return batches

    def flowing(self) -> None:
        """Records are being handled (fetched earlier): keep the short wait, so the next fetch after them is not
        held behind a long one."""
        self._apply(self.fetch_wait.fetched(True))

    def _apply(self, wait_ms: int) -> None:
        set_fetch_wait(self, wait_ms)


def set_fetch_wait(consumer: AIOKafkaConsumer, wait_ms: int) -> None:
    """The wait of a started aiokafka consumer's next fetch requests; also for a consumer built by a library that
    reads records past ``getmany`` (faust's consumer thread calls the fetcher itself)."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        fetcher._fetch_max_wait_ms = wait_ms
