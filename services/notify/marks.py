"""A delivery's outcome in MongoDB: sent (marks of workers that finish together in one write), retried, failed, and
its outcome published (a mark that rides with the next sent mark, or goes on its own after a short wait)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateMany, UpdateOne

from .coalesce import Coalescer
from .lines import Lines

log = logging.getLogger(__name__)
PUBLISHED = {"$set": {"outcome_published": True}, "$unset": {"unpublished": ""}}
PUBLISHED_LINGER_SECONDS = 1.0  # an outcome's published mark waits at most this long for a sent mark to ride with


class Marks:
    """``NotifyStore``'s outcome marks (a part of it: its ``__init__`` sets the state used here)."""

    deliveries: Any
    lines: Lines
    _marks: Coalescer[tuple[str, datetime, str | None, str | None], None]
    _published: set[str]
    _flushing: asyncio.Task[None] | None

    async def mark_sent(self, doc_id: str, now: datetime, provider_id: str | None, response: str | None) -> None:
        """Each worker waits for its own mark; the marks of workers that finish together go in one write."""
        await self._marks((doc_id, now, provider_id, response))

    async def _mark_sent(self, marks: list[tuple[str, datetime, str | None, str | None]]) -> list[None]:
        """One write for every mark waiting: marks that record the same provider id and reply share one update (an
        update per document costs twice as much), each sent at the latest of their times (milliseconds apart)."""
        same: dict[tuple[str | None, str | None], list[tuple[str, datetime]]] = {}
        for doc_id, now, provider_id, response in marks:
            same.setdefault((provider_id, response), []).append((doc_id, now))
        ops: list[UpdateOne | UpdateMany] = []
        for (provider_id, response), group in same.items():
            fields = {"status": "sent", "sent_at": max(now for _, now in group), "provider_response": response,
                      "outcome_published": False, "unpublished": True, "last_error": None}
            if provider_id is not None:  # an e-mail has none: no entry in the provider-id index either
                fields["provider_id"] = provider_id
            update = {"$set": fields, "$unset": {"lease_until": ""}}
            ids = [doc_id for doc_id, _ in group]
            ops.append(UpdateOne({"_id": ids[0], "status": "sending"}, update) if len(ids) == 1
                       else UpdateMany({"_id": {"$in": ids}, "status": "sending"}, update))
        if published := self._take_published():  # outcomes published since the last write ride along
            ops.append(UpdateMany({"_id": {"$in": published}}, PUBLISHED))
        await self.deliveries.bulk_write(ops, ordered=False)
        self.lines.finished(doc_id for doc_id, *_ in marks)
        return [None] * len(marks)

    async def reschedule(self, doc_id: str, at: datetime, error: str) -> None:
        await self.deliveries.update_one(
            {"_id": doc_id, "status": "sending"},
            {"$set": {"status": "pending", "next_attempt_at": at, "last_error": error}, "$unset": {"lease_until": ""}})

    async def mark_failed(self, doc_id: str, now: datetime, error: str, permanent: bool) -> None:
        await self.deliveries.update_one(
            {"_id": doc_id, "status": "sending"},
            {"$set": {"status": "failed", "failed_at": now, "last_error": error, "permanent": permanent,
                      "outcome_published": False, "unpublished": True}, "$unset": {"lease_until": ""}})
        self.lines.finished([doc_id])

    async def mark_all_published(self, ids: Sequence[str]) -> None:
        if ids:
            await self.deliveries.update_many({"_id": {"$in": list(ids)}}, PUBLISHED)

    def published_later(self, ids: Sequence[str]) -> None:
        """Outcomes published: marked so with the next sent mark, or on their own within ``PUBLISHED_LINGER``. Until
        then (or should the mark be lost) the sweeper may publish them again, under the same ids."""
        self._published.update(ids)
        if self._published and self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_published(PUBLISHED_LINGER_SECONDS))

    def publishing(self, doc_id: str) -> bool:
        """Published, its mark not written yet: not the sweeper's to publish."""
        return doc_id in self._published

    def _take_published(self) -> list[str]:
        taken, self._published = sorted(self._published), set()
        return taken

    async def _flush_published(self, after: float) -> None:
        try:
            await asyncio.sleep(after)
            await self.mark_all_published(self._take_published())
        except Exception:  # left flagged: the sweeper publishes them again (same ids), then marks them
            log.warning("marking outcomes published failed", exc_info=True)
        finally:
            self._flushing = None

    async def flush_published(self) -> None:
        await self._flush_published(0)

    async def unpublished(self, limit: int = 100) -> list[dict[str, Any]]:
        return [d async for d in self.deliveries.find({"unpublished": True}).limit(limit)]

    async def flag_unpublished(self) -> int:
        """Outcomes an older release left unpublished, before it marked them ``unpublished``: marked now (the
        sweeper's first round after each start: one read of the sent and failed deliveries, none left behind)."""
        res = await self.deliveries.update_many(
            {"status": {"$in": ["sent", "failed"]}, "outcome_published": False, "unpublished": {"$exists": False}},
            {"$set": {"unpublished": True}})
        return res.modified_count
