"""The malware-scan state of a stored file: ``metadata.scan`` of its GridFS entry, written only by the service that
owns the bucket (it scans the files it stores), read by the services declared as the bucket's readers.

With a scanner configured a new file is ``pending`` and is neither served nor sent until clamd calls it ``clean``;
an ``infected`` one is kept for operators (quarantined) and never leaves. A scanner that is down leaves the file
pending, never clean. Without a scanner a file is clean at once (``by: none``; docs/operations.md). A file stored
before scanning existed has no state and counts as clean.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.flag_owners import QUARANTINE_FLAG
from shared.contracts.schemas import tickets
from shared.runtime.clamd import Clamd, ScannerUnavailable
from shared.runtime.ids import derived_id

ScanStatus = Literal["pending", "clean", "infected"]
PENDING: ScanStatus = "pending"
CLEAN: ScanStatus = "clean"
INFECTED: ScanStatus = "infected"


def scan_status(metadata: Mapping[str, Any] | None) -> ScanStatus:
    status = ((metadata or {}).get("scan") or {}).get("status", CLEAN)
    return status if status in (PENDING, INFECTED) else CLEAN


def signature_of(metadata: Mapping[str, Any] | None) -> str:
    return str(((metadata or {}).get("scan") or {}).get("signature") or "malware")


def initial_scan(clamd: Clamd | None, now: datetime) -> dict[str, Any]:
    """What a new file's ``metadata.scan`` starts as."""
    return {"status": PENDING, "since": now} if clamd is not None else {"status": CLEAN, "by": "none", "at": now}


def quarantine_flag(file_id: str, filename: str, signature: str) -> tuple[tickets.SetFlag, str]:
    """The ledger command that marks an infected file in its ticket's history, and its id (one per file)."""
    return (tickets.SetFlag(flag=f"{QUARANTINE_FLAG}{file_id}", value=True,
                            reason=f"{filename[:200]}: {signature}"), derived_id("quarantine", file_id))


class BucketScanner:
    """Scans the pending files of one GridFS bucket its service owns and records each verdict."""

    def __init__(self, db: AsyncDatabase, bucket: str, clamd: Clamd | None, max_bytes: int) -> None:
        self.files = db[f"{bucket}.files"]
        self.bucket = AsyncGridFSBucket(db, bucket_name=bucket)
        self.clamd, self.max_bytes = clamd, max_bytes

    def initial(self, now: datetime) -> dict[str, Any]:
        return initial_scan(self.clamd, now)

    async def scan(self, file_id: str, now: datetime) -> dict[str, Any] | None:
        """The file's GridFS entry after one attempt to scan it if pending (None: no such file)."""
        doc = await self.files.find_one({"_id": file_id})
        if doc is None or self.clamd is None or scan_status(doc.get("metadata")) != PENDING:
            return doc
        try:
            stream = await self.bucket.open_download_stream(file_id)
            data = bytes(await stream.read(self.max_bytes + 1))
        except NoFile:
            return None
        try:
            verdict = await self.clamd.scan(data)
        except ScannerUnavailable as exc:
            await self.files.update_one({"_id": file_id}, {"$set": {"metadata.scan.error": str(exc)[:300],
                                                                     "metadata.scan.tried_at": now},
                                                            "$inc": {"metadata.scan.attempts": 1}})
            return doc
        state = {"status": INFECTED if verdict.infected else CLEAN, "signature": verdict.signature, "at": now,
                 "by": "clamd"}
        await self.files.update_one({"_id": file_id, "metadata.scan.status": PENDING},
                                    {"$set": {"metadata.scan": state}})
        return await self.files.find_one({"_id": file_id})

    async def pending(self, limit: int = 50) -> list[str]:
        return [d["_id"] async for d in self.files.find({"metadata.scan.status": PENDING}, {"_id": 1}).limit(limit)]

    async def unflagged(self, limit: int = 50) -> list[dict[str, Any]]:
        """Infected files whose ticket history does not say so yet."""
        query = {"metadata.scan.status": INFECTED, "metadata.scan.flagged": {"$ne": True}}
        return [d async for d in self.files.find(query).limit(limit)]

    async def flagged(self, file_id: str) -> None:
        await self.files.update_one({"_id": file_id}, {"$set": {"metadata.scan.flagged": True}})
