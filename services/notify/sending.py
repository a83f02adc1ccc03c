"""The workers: each takes a leased delivery from its channel's queue, sends it, and records the outcome (a sent mark
written while the worker goes on to its next; a failure retried with backoff or, at last, marked failed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from shared.runtime.clock import Clock, as_utc
from shared.runtime.metrics import NOTIFICATIONS

from .domain import backoff_delay
from .errors import SendError, transient
from .pace import Pace
from .settings import NotifySettings
from .store import NotifyStore

log = logging.getLogger(__name__)
# A worker sends a delivery only while at least this share of its lease is left: one sent as its lease runs out could
# be claimed and sent again by another worker meanwhile. One taken later goes back to the queue at once.
LEASE_LEFT_TO_SEND = 0.25


class Sender(Protocol):
    async def send(self, d: Mapping[str, Any]) -> str: ...
    async def close(self) -> None: ...


class Sending:
    """The dispatcher's workers (a part of it: ``Dispatcher.__init__`` sets the state used here)."""

    store: NotifyStore
    clock: Clock
    s: NotifySettings
    rnd: Callable[[], float]
    delivered: int
    _outbox: asyncio.Queue[dict[str, Any]]
    _marking: set[asyncio.Task[None]]
    _marks_free: asyncio.Semaphore
    _pace: dict[str, Pace]
    _taken: dict[str, asyncio.Event]

    if TYPE_CHECKING:  # the dispatcher's own
        def wake(self, channels: set[str] | None = None) -> None: ...

        def _done(self) -> None: ...

    async def _worker(self, channel: str, queue: asyncio.Queue[dict[str, Any]], sender: Sender) -> None:
        while True:
            doc = await queue.get()
            self._taken[channel].set()
            if self._too_late(doc):
                await self._give_back(doc)
                continue
            try:
                await self.attempt(doc, sender)
            except asyncio.CancelledError:  # shutting down mid-send: hand it back now rather than at lease expiry
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.store.reschedule(doc["_id"], self.clock.now(), "worker stopped"), 2)
                raise
            except Exception:  # the lease brings it back if we could not even record the outcome
                log.exception("delivery bookkeeping failed", extra={"notification_id": doc["_id"]})

    def _too_late(self, doc: Mapping[str, Any]) -> bool:
        left = doc.get("lease_until")
        return left is not None and \
            (as_utc(left) - self.clock.now()).total_seconds() < self.s.lease_seconds * LEASE_LEFT_TO_SEND

    async def _give_back(self, doc: Mapping[str, Any]) -> None:
        """Back to the queue unsent, if it is still ours (its claim token): never one another worker claimed since."""
        log.warning("lease nearly ran out before a worker took it: back to the queue",
                    extra={"notification_id": doc["_id"]})
        try:
            if await self.store.give_back(doc["_id"], doc.get("claim"), self.clock.now()):
                self.wake({doc["channel"]})
        except Exception:  # its lease runs out and the sweeper gives it back
            log.exception("giving a delivery back failed", extra={"notification_id": doc["_id"]})

    async def attempt(self, doc: dict[str, Any], sender: Sender) -> None:
        started = time.monotonic()
        try:
            response = await sender.send(doc)
        except asyncio.CancelledError:
            raise
        except SendError as exc:
            self._pace[doc["channel"]].sent(time.monotonic() - started)
            await self._failed(doc, exc)
            return
        except Exception as exc:  # an adapter bug or an unexpected library error: retry, do not drop
            await self._failed(doc, transient(f"unexpected: {exc!r}"[:500]))
            return
        self._pace[doc["channel"]].sent(time.monotonic() - started)
        now = self.clock.now()
        provider_id = response if doc["channel"] == "sms" else None
        # The worker goes on to its next mail while the mark is written (with the marks of the others that finish
        # meanwhile, in one write); at most MARKS_IN_FLIGHT wait at once, so none waits anywhere near its lease.
        await self._marks_free.acquire()
        mark = asyncio.create_task(self._mark_sent(doc, now, provider_id, None if provider_id else response[:300]))
        self._marking.add(mark)
        mark.add_done_callback(self._marking.discard)

    async def _mark_sent(self, doc: dict[str, Any], now: datetime, provider_id: str | None,
                         response: str | None) -> None:
        try:
            await self.store.mark_sent(doc["_id"], now, provider_id, response)
        except Exception:  # the lease brings it back: sent again rather than never recorded
            log.exception("delivery bookkeeping failed", extra={"notification_id": doc["_id"]})
            return
        finally:
            self._marks_free.release()
        self.delivered += 1
        self._done()
        NOTIFICATIONS.labels(channel=doc["channel"], outcome="sent").inc()
        self._outbox.put_nowait({**doc, "status": "sent"})

    async def _failed(self, doc: dict[str, Any], exc: SendError) -> None:
        now = self.clock.now()
        attempts = int(doc.get("attempts") or 1)
        if not exc.permanent and attempts < self.s.max_attempts:
            delay = backoff_delay(attempts, self.s.retry_base_seconds, self.s.retry_cap_seconds, self.rnd())
            log.info("delivery will be retried", extra={"notification_id": doc["_id"], "reason": exc.reason,
                                                        "attempt": attempts, "delay": delay})
            await self.store.reschedule(doc["_id"], now + timedelta(seconds=delay), exc.reason)
            self.wake({doc["channel"]})  # a resting feeder looks again and rests until this retry at most
            NOTIFICATIONS.labels(channel=doc["channel"], outcome="retried").inc()
            return
        reason = exc.reason if exc.permanent else f"gave up after {attempts} attempts: {exc.reason}"
        log.warning("delivery failed", extra={"notification_id": doc["_id"], "reason": reason})
        await self.store.mark_failed(doc["_id"], now, reason, exc.permanent)
        self._done()
        NOTIFICATIONS.labels(channel=doc["channel"], outcome="failed").inc()
        self._outbox.put_nowait({**doc, "status": "failed", "last_error": reason, "permanent": exc.permanent,
                                 "attempts": attempts})
