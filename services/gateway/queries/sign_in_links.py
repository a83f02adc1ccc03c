"""The client portal's links (sign-in and invitation) and the recent requests for sign-in links: the gateway's own
two collections.

A link is kept only as the SHA-256 of its token (a database reader learns no link that works), with its purpose,
the contact, the client, the address, ``expires_at`` and ``used_at`` (an invitation also the rights and who
invited). Redeeming is one ``find_one_and_update`` on an unused, unexpired link of the purpose asked for, so of two
redeems racing one wins, and an invitation is no sign-in link (nor the other way round). Requests are kept an
hour, by the address's hash and the caller, for the rate limits; known and unknown addresses are recorded alike, so
the limits tell nothing either.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import GATEWAY_SIGN_IN_LINKS, GATEWAY_SIGN_IN_REQUESTS
from shared.contracts.schemas.portal import LinkPurpose
from shared.runtime.clock import as_utc

WINDOW = timedelta(hours=1)  # the rate limits' period
INDEXES = {
    GATEWAY_SIGN_IN_LINKS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=24 * 3600)],
    GATEWAY_SIGN_IN_REQUESTS: [IndexModel([("address", ASCENDING), ("at", ASCENDING)]),
                               IndexModel([("ip", ASCENDING), ("at", ASCENDING)]),
                               IndexModel([("at", ASCENDING)], expireAfterSeconds=int(WINDOW.total_seconds()))],
}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SignInLinks:
    def __init__(self, db: AsyncDatabase) -> None:
        self.links, self.requests = db[GATEWAY_SIGN_IN_LINKS], db[GATEWAY_SIGN_IN_REQUESTS]
        self._indexed = False
        self._lock = asyncio.Lock()

    async def _ensure_indexes(self) -> None:
        async with self._lock:
            if not self._indexed:
                for coll, models in ((self.links, INDEXES[GATEWAY_SIGN_IN_LINKS]),
                                     (self.requests, INDEXES[GATEWAY_SIGN_IN_REQUESTS])):
                    for model in models:  # one by one: the embedded database drops big batches
                        await coll.create_indexes([model])
                self._indexed = True

    async def retry_after(self, by: Literal["address", "ip"], value: str, limit: int, now: datetime) -> int | None:
        """Seconds until ``value`` may ask again, when it has asked ``limit`` times within the window; else None."""
        await self._ensure_indexes()
        cursor = self.requests.find({by: value, "at": {"$gt": now - WINDOW}}, {"at": 1}).sort("at", -1).limit(limit)
        recent = [d["at"] async for d in cursor]
        if len(recent) < limit:
            return None
        oldest = as_utc(min(recent))
        return max(1, int((oldest + WINDOW - now).total_seconds()) + 1)

    async def record_request(self, address: str, ip: str, now: datetime) -> None:
        await self.requests.insert_one({"address": address, "ip": ip, "at": now})

    async def create(self, link_id: str, contact: dict[str, Any], now: datetime, expires_at: datetime,
                     purpose: LinkPurpose = "sign_in") -> None:
        await self._ensure_indexes()
        await self.links.insert_one({"_id": link_id, **contact, "purpose": purpose, "created_at": now,
                                     "expires_at": expires_at, "used_at": None})

    async def redeem(self, link_id: str, now: datetime, purpose: LinkPurpose = "sign_in") -> dict[str, Any] | None:
        """The link, marked used now, if it was an unused, unexpired link for ``purpose``; None otherwise (or if
        another redeem won). Links from before purposes existed are sign-in links."""
        of_purpose = {"purpose": purpose} if purpose != "sign_in" else {"purpose": {"$ne": "invitation"}}
        doc: dict[str, Any] | None = await self.links.find_one_and_update(
            {"_id": link_id, **of_purpose, "used_at": None, "expires_at": {"$gt": now}}, {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER)
        return doc
