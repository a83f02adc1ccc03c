"""The portal's own collections beside its links: accounts of invited contacts, the onboarding guide, the feedback.

An account is keyed by the contact id (one per contact; a new invitation's rights replace the old ones when it is
accepted). The guide is one document. Feedback entries are read newest first, by client, in pages keyed by
(``at``, ``_id``), so a page boundary never skips or repeats an entry written in the same millisecond.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import GATEWAY_PORTAL_ACCOUNTS, GATEWAY_PORTAL_FEEDBACK, GATEWAY_PORTAL_GUIDE

GUIDE_ID = "guide"
FEEDBACK_INDEXES = [IndexModel([("client_id", DESCENDING), ("at", DESCENDING), ("_id", DESCENDING)]),
                    IndexModel([("at", DESCENDING), ("_id", DESCENDING)])]


class PortalStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.accounts, self.guides = db[GATEWAY_PORTAL_ACCOUNTS], db[GATEWAY_PORTAL_GUIDE]
        self.feedback = db[GATEWAY_PORTAL_FEEDBACK]
        self._indexed = False
        self._lock = asyncio.Lock()

    async def _ensure_indexes(self) -> None:
        async with self._lock:
            if not self._indexed:
                for model in FEEDBACK_INDEXES:  # one by one: the embedded database drops big batches
                    await self.feedback.create_indexes([model])
                self._indexed = True

    # ---- accounts ------------------------------------------------------------------------------------------

    async def account(self, contact_id: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.accounts.find_one({"_id": contact_id})
        return doc

    async def save_account(self, contact_id: str, fields: dict[str, Any]) -> None:
        await self.accounts.update_one({"_id": contact_id}, {"$set": fields}, upsert=True)

    # ---- the guide -----------------------------------------------------------------------------------------

    async def guide(self) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.guides.find_one({"_id": GUIDE_ID})
        return doc

    async def save_guide(self, markdown: dict[str, str], by: str, at: datetime) -> dict[str, Any]:
        doc = {"markdown": markdown, "updated_by": by, "updated_at": at}
        await self.guides.update_one({"_id": GUIDE_ID}, {"$set": doc, "$inc": {"version": 1}}, upsert=True)
        return await self.guide() or doc

    # ---- feedback ------------------------------------------------------------------------------------------

    async def add_feedback(self, doc: dict[str, Any]) -> None:
        await self._ensure_indexes()
        await self.feedback.insert_one(doc)

    async def feedback_since(self, client_id: str, since: datetime, limit: int) -> list[datetime]:
        """When the client's latest ``limit`` entries after ``since`` were written, newest first."""
        cursor = self.feedback.find({"client_id": client_id, "at": {"$gt": since}}, {"at": 1}) \
            .sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [d["at"] async for d in cursor]

    async def list_feedback(self, client_ids: list[str] | None, after: tuple[datetime, str] | None,
                            limit: int) -> list[dict[str, Any]]:
        """Newest first; ``client_ids`` None for every client; ``after`` the last (at, id) of the previous page."""
        await self._ensure_indexes()
        query: dict[str, Any] = {} if client_ids is None else {"client_id": {"$in": client_ids}}
        if after is not None:
            at, entry_id = after
            query["$or"] = [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": entry_id}}]
        cursor = self.feedback.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [d async for d in cursor]
