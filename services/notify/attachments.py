"""A reply's files: read for its e-mail from the gateway's bucket (read-only), or named by the client portal's page
where the channel cannot carry files.

The gateway lets an agent send only his own clean uploads, but a file's scan may still be pending when a reply races
past it, and the bytes are read again here, so the mail checks each file once more: a file that is missing, of
another ticket or not ``clean`` (``shared/runtime/file_scan.py``) fails the whole delivery for good, naming the
file, and its author is told. What is read is bounded by ``mail_attachments_max_bytes`` before any byte is read.
SMS and chat get the portal's ticket page, where the client signs in: never a link that works for anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contracts.collections import GATEWAY_ATTACHMENTS, UPLOAD_FIELDS
from shared.runtime.file_scan import CLEAN, INFECTED, scan_status

from .errors import permanent, transient

FILE_LINE = {"ru": "Файл {name}: {url}", "en": "File {name}: {url}"}
FILE_IN_PORTAL = {"ru": "Файл {name}: в личном кабинете клиента", "en": "File {name}: in the client portal"}


@dataclass(frozen=True)
class MailFile:
    filename: str
    content_type: str
    data: bytes


def _name(raw: Mapping[str, Any]) -> str:
    """A file name fit for a text line and a MIME header (no control characters)."""
    return "".join(c for c in str(raw.get("filename") or "attachment") if c.isprintable())[:200] or "attachment"


def refusal(raw: Mapping[str, Any], entry: Mapping[str, Any] | None, ticket_id: str) -> str | None:
    """Why this file of a reply must not be mailed (None: it may), from its GridFS entry (pure)."""
    name = _name(raw)
    meta = (entry or {}).get("metadata") or {}
    if entry is None or meta.get("ticket_id") != ticket_id:
        return f"attachment {name} is not a stored file of this ticket: the reply was not sent"
    status = scan_status(meta)
    if status == INFECTED:
        return f"attachment {name} is quarantined (it contains malware): the reply was not sent"
    if status != CLEAN:
        return f"attachment {name} has not been scanned for malware yet: the reply was not sent; send it again " \
               "once the file is scanned"
    return None


class ReplyFiles:
    """Reads a delivery's files from ``gateway_attachments`` (a declared reader: it never writes there)."""

    def __init__(self, db: AsyncDatabase, max_bytes: int) -> None:
        self.files = db[f"{GATEWAY_ATTACHMENTS}.files"]
        self.bucket = AsyncGridFSBucket(db, bucket_name=GATEWAY_ATTACHMENTS)
        self.max_bytes = max_bytes

    async def load(self, d: Mapping[str, Any]) -> list[MailFile]:
        """The files delivery ``d`` names, in its order; a permanent SendError when any must not go."""
        wanted: Sequence[Mapping[str, Any]] = d.get("attachments") or []
        if not wanted:
            return []
        try:
            found = {e["_id"]: e async for e in self.files.find({"_id": {"$in": [str(a.get("id")) for a in wanted]}},
                                                                 {f: 1 for f in UPLOAD_FIELDS})}
        except PyMongoError as exc:
            raise transient(f"cannot read the reply's files: {exc!r}"[:500]) from exc
        for raw in wanted:
            reason = refusal(raw, found.get(str(raw.get("id"))), d["ticket_id"])
            if reason:
                raise permanent(reason)
        total = sum(int(found[str(a.get("id"))].get("length") or 0) for a in wanted)
        if total > self.max_bytes:
            raise permanent(f"the reply's files have {total} bytes, more than one mail may carry ({self.max_bytes}): "
                            "the reply was not sent")
        return [await self._read(raw, found[str(raw.get("id"))]) for raw in wanted]

    async def _read(self, raw: Mapping[str, Any], entry: Mapping[str, Any]) -> MailFile:
        length = int(entry.get("length") or 0)
        try:
            stream = await self.bucket.open_download_stream(entry["_id"])
            data = bytes(await stream.read(length))
        except NoFile as exc:
            raise permanent(f"attachment {_name(raw)} is not stored: the reply was not sent") from exc
        except PyMongoError as exc:
            raise transient(f"cannot read attachment {_name(raw)}: {exc!r}"[:500]) from exc
        content_type = str((entry.get("metadata") or {}).get("content_type") or "application/octet-stream")
        return MailFile(_name(raw), content_type, data)


def file_lines(files: Sequence[Mapping[str, Any]], ticket_id: str, portal_url: str | None, language: str) -> str:
    """One line per file for a channel that cannot carry it: its name and the portal's page of the ticket."""
    lang = language if language in FILE_LINE else "en"
    url = f"{portal_url.rstrip('/')}/portal/tickets/{ticket_id}" if portal_url else None
    template = FILE_LINE[lang] if url else FILE_IN_PORTAL[lang]
    return "\n".join(template.format(name=_name(f), url=url) for f in files)


def with_file_lines(text: str, channel: str, lines: str) -> str:
    """SMS gets the lines first, so cutting a long text to its segments never cuts a link; chat gets them last."""
    if not lines:
        return text
    return f"{lines}\n\n{text}" if channel == "sms" else f"{text}\n\n{lines}"
