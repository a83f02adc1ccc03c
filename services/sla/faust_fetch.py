"""The adaptive fetch wait (shared/runtime/fetch_wait.py) for faust's consumer.

faust builds its aiokafka consumer in its own consumer thread with a fixed ``fetch_max_wait_ms=1500`` and the
default 200 ms fetch routine timeout, and reads records past ``getmany`` (it calls the fetcher itself), so neither
the settings nor ``AdaptiveConsumer`` reach it. Two methods of that thread are wrapped instead, on the app's own
thread object: the one that builds the consumer (to start on the short wait and the longer routine timeout) and the
one that takes records from the fetcher (to tell the ``FetchWait`` whether records came and set the wait it
returns). Both run in the consumer thread, the only one that touches the ``FetchWait`` and the fetcher.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from shared.runtime.fetch_wait import ROUTINE_TIMEOUT_MS, FetchWait, set_fetch_wait

log = logging.getLogger(__name__)


def adapt_fetch_wait(app: faust.App, fetch_wait: FetchWait) -> bool:
    """Make ``app``'s consumer fetch with ``fetch_wait``; call before the app starts. False (and a warning) when this
    faust keeps its consumer elsewhere: it then runs on faust's fixed wait, as before."""
    thread = getattr(app.consumer, "_thread", None)
    create = getattr(thread, "_create_worker_consumer", None)
    fetch = getattr(thread, "_fetch_records", None)
    if thread is None or create is None or fetch is None:
        log.warning("faust's consumer thread has no _create_worker_consumer/_fetch_records: its fetch wait stays fixed")
        return False

    def create_consumer(*args: Any, **kwargs: Any) -> Any:
        consumer = create(*args, **kwargs)
        consumer._fetch_max_wait_ms = fetch_wait.wait_ms  # what aiokafka gives its fetcher when it starts
        consumer._consumer_timeout = ROUTINE_TIMEOUT_MS / 1000  # a fetch answered still wakes the routine at once
        return consumer

    async def fetch_records(consumer: Any, *args: Any, **kwargs: Any) -> Any:
        records = await fetch(consumer, *args, **kwargs)
        set_fetch_wait(consumer, fetch_wait.fetched(bool(records)))
        return records

    thread._create_worker_consumer = create_consumer
    thread._fetch_records = fetch_records
    return True


def fetch_wait_ms(app: faust.App | None) -> int | None:
    """The wait faust's consumer puts in its next fetch request (None before it started)."""
    thread = getattr(app.consumer, "_thread", None) if app is not None else None
    consumer = getattr(thread, "_consumer", None)
    return getattr(getattr(consumer, "_fetcher", None), "_fetch_max_wait_ms", None)
