"""Files on tickets: the gateway's own uploads (a GridFS bucket it owns) and, read-only, the files intake stored from
the channels; which files a ticket's history names (the only way to reach one); and their malware-scan state (the
gateway scans its own uploads, intake its files: ``shared/runtime/file_scan.py``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Set
from datetime import datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import GATEWAY_ATTACHMENTS, INTAKE_ATTACHMENTS
from shared.contracts.schemas.common import Attachment
from shared.runtime.clamd import Clamd
from shared.runtime.file_scan import BucketScanner, ScanStatus, scan_status
from shared.runtime.ids import new_id

# Where each event type of the history keeps its files (the shape intake's inbound files already have).
CLIENT_FILES = "MessageReceived"  # payload.content.attachments
AGENT_FILES = frozenset({"ReplySent", "NoteAdded"})  # payload.attachments
MOVED_FILES = "TicketAbsorbed"  # payload.messages[].attachments, payload.replies[].attachments (merge and split)


def named_file(history: Iterable[dict[str, Any]], file_id: str, hidden: Set[str] = frozenset()) -> Attachment | None:
    """The file as the ticket's history records it, from an event not of a ``hidden`` type; None if none names it."""
    for entry in history:
        kind = entry.get("type")
        if kind in hidden or (kind != CLIENT_FILES and kind != MOVED_FILES and kind not in AGENT_FILES):
            continue
        payload = entry.get("payload") or {}
        files = (payload.get("content") or {}).get("attachments") if kind == CLIENT_FILES else payload.get(
            "attachments")
        if kind == MOVED_FILES:
            files = [f for m in (payload.get("messages") or []) + (payload.get("replies") or [])
                     if isinstance(m, dict) for f in m.get("attachments") or []]
        for raw in files or []:
            if isinstance(raw, dict) and raw.get("id") == file_id:
                return Attachment.model_validate(raw)
    return None


class TicketFiles:
    def __init__(self, db: AsyncDatabase, clamd: Clamd | None = None, max_bytes: int = 10_000_000) -> None:
        self.files = db[f"{GATEWAY_ATTACHMENTS}.files"]
        self.intake_files = db[f"{INTAKE_ATTACHMENTS}.files"]
        self.own = AsyncGridFSBucket(db, bucket_name=GATEWAY_ATTACHMENTS)
        self.intake = AsyncGridFSBucket(db, bucket_name=INTAKE_ATTACHMENTS)
        self.scans = BucketScanner(db, GATEWAY_ATTACHMENTS, clamd, max_bytes)

    async def save(self, data: bytes, filename: str, content_type: str, *, ticket_id: str | None, uploader: str,
                   at: datetime) -> tuple[Attachment, dict[str, Any]]:
        """``ticket_id`` None: a portal upload for a request not opened yet (bound to it when it is). Scanned at once
        when a scanner is configured; its GridFS entry after that (pending if the scanner gave no verdict)."""
        file_id = new_id()
        await self.own.upload_from_stream_with_id(file_id, filename, data, metadata={
            "content_type": content_type, "ticket_id": ticket_id, "uploaded_by": uploader, "uploaded_at": at,
            "scan": self.scans.initial(at)})
        entry = await self.scans.scan(file_id, at) or {"_id": file_id, "filename": filename, "metadata": {}}
        return Attachment(id=file_id, filename=filename, content_type=content_type, size=len(data)), entry

    async def scanned(self, file_ids: list[str], at: datetime) -> list[dict[str, Any]]:
        """The gateway's own entries of these files, each pending one scanned again first (the scanner may be back)."""
        return [doc for i in file_ids if (doc := await self.scans.scan(i, at)) is not None]

    async def take(self, ids: list[str], ticket_id: str, uploader: str) -> list[Attachment] | None:
        """The uploader's own files for this ticket, in the order named; unbound ones are bound to it now.
        None when any is someone else's, another ticket's, or unknown."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        mine = {"_id": {"$in": wanted}, "metadata.uploaded_by": uploader}
        await self.files.update_many({**mine, "metadata.ticket_id": None}, {"$set": {"metadata.ticket_id": ticket_id}})
        found = {d["_id"]: d async for d in self.files.find({**mine, "metadata.ticket_id": ticket_id})}
        if len(found) != len(wanted):
            return None
        return [Attachment(id=i, filename=found[i]["filename"], size=found[i]["length"],
                           content_type=(found[i].get("metadata") or {}).get("content_type",
                                                                               "application/octet-stream"))
                for i in wanted]

    async def state(self, ticket_id: str, file_id: str, at: datetime,
                    moved_from: Collection[str] = ()) -> tuple[ScanStatus, dict[str, Any]] | None:
        """The scan state of a file of this ticket and its GridFS entry: an upload of this very ticket (or of a ticket
        merged or split into it, ``moved_from``; scanned now if still pending), else a file intake stored from a
        channel (intake scans those); None: neither."""
        own = await self.files.find_one({"_id": file_id}, {"_id": 1, "metadata": 1, "filename": 1})
        if own is not None:
            if (own.get("metadata") or {}).get("ticket_id") not in {ticket_id, *moved_from}:
                return None  # another ticket's upload, whatever a history says
            own = await self.scans.scan(file_id, at) or own
            return scan_status(own.get("metadata")), own
        theirs = await self.intake_files.find_one({"_id": file_id}, {"_id": 1, "metadata": 1, "filename": 1})
        return (scan_status(theirs.get("metadata")), theirs) if theirs is not None else None

    async def content(self, ticket_id: str, file_id: str, moved_from: Collection[str] = ()) -> bytes | None:
        """The bytes: an upload of this very ticket (or of one merged or split into it), else a file intake stored
        from a channel."""
        owners = [ticket_id, *moved_from]
        if await self.files.find_one({"_id": file_id, "metadata.ticket_id": {"$in": owners}}, {"_id": 1}) is not None:
            return await _read(self.own, file_id)
        if await self.files.find_one({"_id": file_id}, {"_id": 1}) is not None:
            return None  # another ticket's upload, whatever a history says
        return await _read(self.intake, file_id)


async def _read(bucket: AsyncGridFSBucket, file_id: str) -> bytes | None:
    try:
        stream = await bucket.open_download_stream(file_id)
    except NoFile:
        return None
    return bytes(await stream.read())
