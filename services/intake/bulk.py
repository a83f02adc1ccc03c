"""The batch side of ``IntakeStore``: one command per collection for a whole batch of inbound messages.

Every write is idempotent (upserts that only insert, inserts under the decision's key), so a batch written again
after a crash before its offsets were committed changes nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from shared.runtime.mongo import duplicates_only

from .store import TICKET_FIELDS, IntakeStore, stored


class BulkStore:
    def __init__(self, store: IntakeStore) -> None:
        self.store = store

    async def messages(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The decisions already recorded under these dedupe keys."""
        if not keys:
            return {}
        return {str(d["_id"]): d async for d in self.store.messages.find({"_id": {"$in": sorted(set(keys))}})}

    async def record_messages(self, docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """First writer wins, per key: the stored decision of each (a racing pod's where it was first)."""
        if not docs:
            return {}
        options = self.store.messages.codec_options
        try:
            await self.store.messages.insert_many(docs, ordered=False)
            lost: list[int] = []
        except BulkWriteError as exc:
            lost = duplicates_only(exc)
        out = {str(d["_id"]): stored(d, options) for d in docs}
        if lost:
            out.update(await self.messages([str(docs[i]["_id"]) for i in lost]))
        return out

    async def claim(self, candidates: dict[str, str]) -> dict[str, str]:
        """The active ticket of each conversation, claiming its candidate where it has none.

        Each upsert only inserts, so the first claim of a conversation wins whichever pod makes it; the read that
        follows tells who owns each. A conversation released between the two is claimed again one by one."""
        if not candidates:
            return {}
        conversations = self.store.conversations
        ops = [UpdateOne({"_id": k}, {"$setOnInsert": {"ticket_id": t}}, upsert=True) for k, t in candidates.items()]
        try:
            await conversations.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:  # another pod's upsert of the same conversation won the insert
            duplicates_only(exc)
        owners = {str(d["_id"]): str(d["ticket_id"])
                  async for d in conversations.find({"_id": {"$in": sorted(candidates)}})}
        for key in candidates.keys() - owners.keys():
            owners[key] = (await self.store.claim(key, candidates[key], remember=False))[0]  # decision notes it
        return owners

    async def tickets(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The ledger's view of these tickets (what threading needs)."""
        if not ids:
            return {}
        return {str(d["_id"]): d async for d in self.store.tickets.find({"_id": {"$in": sorted(ids)}}, TICKET_FIELDS)}
