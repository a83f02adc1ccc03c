"""Intake scans the files it stores (``INTAKE_ATTACHMENT_SCAN_URL``): each new one is pending until clamd's verdict,
and an infected one is flagged on the ticket whose message names it, so agents see it quarantined in the history.

The loop runs beside the consumers, never inside them: a scanner that is down or slow leaves files pending (retried
every few seconds) and holds up no message. The gateway reads the verdict (``shared/runtime/file_scan.py``) and
serves only clean files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import INTAKE_ATTACHMENTS, INTAKE_MESSAGES
from shared.contracts.envelope import envelope_for
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clamd import scanner
from shared.runtime.clock import Clock
from shared.runtime.file_scan import BucketScanner, quarantine_flag, signature_of
from shared.runtime.kafka import KafkaBus
from shared.runtime.tasks import cancel

from .settings import IntakeSettings

log = logging.getLogger(__name__)
RETRY_SECONDS = 2.0
# An infected file no message names after this long will never be on a ticket: stop looking for one.
FLAG_WINDOW = timedelta(days=1)


class IntakeScans:
    def __init__(self, db: AsyncDatabase, bus: KafkaBus, clock: Clock, settings: IntakeSettings) -> None:
        self.files = BucketScanner(db, INTAKE_ATTACHMENTS, scanner(settings), settings.max_attachment_bytes)
        self.messages = db[INTAKE_MESSAGES]
        self.bus, self.clock = bus, clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def new_scan(self) -> dict[str, Any]:
        """The state a file starts in; the loop is told a file is coming."""
        self._wake.set()
        return self.files.initial(self.clock.now())

    async def start(self) -> None:
        if self.files.clamd is not None:
            self._task = asyncio.create_task(self._run(), name="intake-scans")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel(self._task)
            self._task = None

    def running(self) -> bool:
        return self._task is None or not self._task.done()

    async def sweep(self) -> None:
        now = self.clock.now()
        for file_id in await self.files.pending():
            await self.files.scan(file_id, now)
        for entry in await self.files.unflagged():
            await self._flag(entry, now)

    async def _flag(self, entry: dict[str, Any], now: Any) -> None:
        seen = await self.messages.find_one({"inbound.attachments.id": entry["_id"], "ticket_id": {"$ne": None}},
                                            {"ticket_id": 1})
        if seen is None:
            at = ((entry.get("metadata") or {}).get("scan") or {}).get("at")
            if at is not None and now - at.replace(tzinfo=now.tzinfo) > FLAG_WINDOW:
                await self.files.flagged(entry["_id"])  # named by no message: no ticket to flag
            return
        cmd, cmd_id = quarantine_flag(entry["_id"], entry.get("filename") or "attachment",
                                      signature_of(entry.get("metadata")))
        await self.bus.publish(TICKETS_COMMANDS, envelope_for(cmd, seen["ticket_id"], occurred_at=now,
                                                              actor="intake", id=cmd_id))
        await self.files.flagged(entry["_id"])

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: the next round tries again
                log.exception("scanning stored files failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
