"""Notifications that never reached their recipient, read from notify's published ``notify_deliveries``.

Two kinds: deliveries notify gave up on (``status`` failed: a permanent refusal or retries exhausted) and SMS the
provider accepted but the carrier reported undelivered (``delivery_status``). A failed delivery notify put back
in the queue leaves the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import DELIVERY_FIELDS, NOTIFY_DELIVERIES

CARRIER_FAILURES = ("undelivered", "failed")
TIMES = ("failed_at", "delivery_reported_at", "created_at")  # when it failed, first one set wins
Pipeline = list[dict[str, Any]]


def failed_pipeline(limit: int, after: tuple[datetime, str] | None = None, channel: str | None = None,
                    ticket_id: str | None = None) -> Pipeline:
    """Both kinds of failure, keyed by when they failed, newest first; ``after`` resumes past a cursor."""
    match: dict[str, Any] = {"$or": [{"status": "failed"}, {"delivery_status": {"$in": list(CARRIER_FAILURES)}}]}
    if channel is not None:
        match["channel"] = channel
    if ticket_id is not None:
        match["ticket_id"] = ticket_id
    at = {"$ifNull": [f"${TIMES[0]}", {"$ifNull": [f"${TIMES[1]}", f"${TIMES[2]}"]}]}
    fields = [f for f in DELIVERY_FIELDS if f not in TIMES]
    pipeline: Pipeline = [{"$match": match}, {"$project": {**dict.fromkeys(fields, 1), "at": at}}]
    if after is not None:
        pipeline.append({"$match": {"$or": [{"at": {"$lt": after[0]}}, {"at": after[0], "_id": {"$lt": after[1]}}]}})
    return [*pipeline, {"$sort": {"at": -1, "_id": -1}}, {"$limit": limit + 1}]


async def failed_deliveries(db: AsyncDatabase, limit: int, after: tuple[datetime, str] | None = None,
                            channel: str | None = None, ticket_id: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` documents: one more than asked tells the caller there is a next page."""
    pipeline = failed_pipeline(limit, after, channel, ticket_id)
    return [d async for d in await db[NOTIFY_DELIVERIES].aggregate(pipeline)]
