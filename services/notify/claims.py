"""Leasing due deliveries to this process's workers, and giving back what they did not send.

A claim is a conditional update by id (``status`` still pending) under a fresh claim token, so two replicas never
lease the same delivery; which ones may go is decided from the tickets' lines as kept (``lines.py``, ``ordering.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pymongo import ASCENDING

from shared.runtime.clock import as_utc
from shared.runtime.ids import new_id

from .lines import Lines
from .ordering import UNDONE, first_in_line
from .written import SEARCH_EVERY_SECONDS, Written


class Claim(NamedTuple):
    docs: list[dict[str, Any]]  # leased to the caller
    next_due: datetime | None  # when the earliest pending delivery not yet due is (None: none seen)
    held_back: bool  # due ones waited behind an earlier notice to the same person: a finished send may free them


class Claims:
    """``NotifyStore``'s claims and releases (a part of it: its ``__init__`` sets the state used here)."""

    deliveries: Any
    written: Written
    lines: Lines
    _searched: dict[str, float]

    async def claim_batch(self, channel: str, now: datetime, lease: float, limit: int) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due deliveries that are first in line; a claim token keeps two replicas apart."""
        return (await self.claim_due(channel, now, lease, limit)).docs

    async def claim_due(self, channel: str, now: datetime, lease: float, limit: int) -> Claim:
        """``claim_batch``, with what an idle feeder needs to rest instead of polling (read by the same query):
        when the next pending delivery is due, and whether a due one waits behind another. What this process
        wrote itself is claimed first, by id (``written.py``); the queue is searched when that gives nothing."""
        if time.monotonic() - self._searched.get(channel, -1e18) < SEARCH_EVERY_SECONDS:
            known = self.written.due(channel, now, 2 * limit)
            if known:
                claim = await self._claim(channel, known, None, now, lease, limit)
                if claim.docs:
                    return claim
        self._searched[channel] = time.monotonic()
        pending = {"status": "pending", "channel": channel}
        fields = {"_id": 1, "ticket_id": 1, "recipient": 1, "seq": 1, "next_attempt_at": 1}
        rows = [d async for d in
                self.deliveries.find(pending, fields).sort("next_attempt_at", ASCENDING).limit(limit * 4)]
        candidates = [d for d in rows if as_utc(d["next_attempt_at"]) <= now]
        later = next((as_utc(d["next_attempt_at"]) for d in rows if as_utc(d["next_attempt_at"]) > now), None)
        return await self._claim(channel, candidates, later, now, lease, limit)

    async def _claim(self, channel: str, candidates: list[dict[str, Any]], later: datetime | None, now: datetime,
                     lease: float, limit: int) -> Claim:
        """Lease the candidates first in line (their tickets' lines as kept, ``lines.py``); a claim token keeps two
        replicas apart."""
        if not candidates:
            return Claim([], later, False)
        free = first_in_line(candidates, await self._in_line({c["ticket_id"] for c in candidates}))
        ids, held_back = free[:limit], len(free) < len(candidates)
        if not ids:
            return Claim([], later, held_back)
        token, lease_until = new_id(), now + timedelta(seconds=lease)
        res = await self.deliveries.update_many(
            {"_id": {"$in": ids}, "status": "pending"},
            {"$set": {"status": "sending", "lease_until": lease_until, "claim": token}, "$inc": {"attempts": 1}})
        self.written.forget(channel, ids)  # leased now, by us or (those we did not get) by another replica
        known = {c["_id"]: c for c in candidates if "address" in c}  # written by this process: whole in memory
        if res.modified_count == len(ids) and all(i in known for i in ids):  # all ours: nothing to read back
            return Claim([{**known[i], "status": "sending", "lease_until": lease_until, "claim": token,
                           "attempts": int(known[i].get("attempts") or 0) + 1} for i in ids], later, held_back)
        return Claim([d async for d in self.deliveries.find({"_id": {"$in": ids}, "claim": token})], later, held_back)

    async def _in_line(self, ticket_ids: set[str]) -> list[dict[str, Any]]:
        """The tickets' undone deliveries: those read lately as this process kept them, the others read now."""
        if stale := self.lines.unchecked(ticket_ids):
            self.lines.checked(stale, await self._undone(stale))
        return self.lines.undone(ticket_ids)

    async def _undone(self, ticket_ids: set[str]) -> list[dict[str, Any]]:
        query = {"ticket_id": {"$in": sorted(ticket_ids)}, "status": {"$in": list(UNDONE)}, "seq": {"$ne": None}}
        return [d async for d in self.deliveries.find(query, {"ticket_id": 1, "recipient": 1, "seq": 1})]

    async def release_held(self, ticket_id: str, cause_id: str, seq: int | None) -> int:
        """Deliveries held until ``cause_id`` was folded join the queue, in line at ``seq``."""
        self.lines.forget(ticket_id)
        res = await self.deliveries.update_many({"ticket_id": ticket_id, "held_for": cause_id, "status": "held"},
                                                {"$set": {"status": "pending", "seq": seq}, "$unset": {"held_for": ""}})
        self.lines.forget(ticket_id)  # they joined the line: read it again
        return res.modified_count

    async def release_stale_holds(self, before: datetime) -> int:
        """Held longer than any cause should take (it was dead-lettered, say): sent, in no particular place."""
        res = await self.deliveries.update_many({"status": "held", "created_at": {"$lt": before}},
                                                {"$set": {"status": "pending"}, "$unset": {"held_for": ""}})
        return res.modified_count

    async def release(self, ids: Sequence[str], now: datetime, claims: Sequence[str] | None = None) -> None:
        """Claimed but never attempted (shutdown): back to the queue, the attempt not counted. With ``claims`` (the
        tokens they were leased under) one another worker claimed since its lease ran out is left to that worker."""
        if ids:
            query: dict[str, Any] = {"_id": {"$in": list(ids)}, "status": "sending"}
            if claims is not None:
                query["claim"] = {"$in": sorted(set(claims))}
            await self.deliveries.update_many(query,
                                              {"$set": {"status": "pending", "next_attempt_at": now},
                                               "$inc": {"attempts": -1}, "$unset": {"lease_until": ""}})

    async def give_back(self, doc_id: str, claim: str | None, now: datetime) -> bool:
        """Leased under ``claim`` but not attempted: pending again, the attempt not counted. False when the claim is
        no longer ours (its lease ran out and another worker has it): that worker's, left alone."""
        res = await self.deliveries.update_one({"_id": doc_id, "status": "sending", "claim": claim},
                                               {"$set": {"status": "pending", "next_attempt_at": now},
                                                "$inc": {"attempts": -1}, "$unset": {"lease_until": ""}})
        return res.modified_count == 1

    async def release_expired(self, now: datetime) -> int:
        """Deliveries whose worker died mid-send go back to the queue."""
        res = await self.deliveries.update_many({"status": "sending", "lease_until": {"$lt": now}},
                                                {"$set": {"status": "pending", "next_attempt_at": now,
                                                          "last_error": "lease expired"}})
        return res.modified_count

    async def requeue(self, doc_id: str, now: datetime) -> bool:
        res = await self.deliveries.update_one(
            {"_id": doc_id, "status": "failed"},
            {"$set": {"status": "pending", "next_attempt_at": now, "attempts": 0, "requeued_at": now}})
        self.lines.forget()  # a failed one is in line again
        return res.modified_count == 1
