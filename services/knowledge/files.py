"""Articles' images and attachments: kept in the knowledge service's own GridFS bucket, each bound to the article it
was uploaded for, so it is read by exactly those who may read that article. What is kept is what the bytes prove
(``shared/runtime/file_types.py``, the same rules as tickets' attachments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import KNOWLEDGE_FILES
from shared.contracts.knowledge_api import FILE_URL_PREFIX, FileOut
from shared.runtime.file_types import safe_filename, sniff
from shared.runtime.ids import new_id
from shared.runtime.problems import ProblemError


@dataclass(frozen=True)
class Stored:
    article_id: str
    filename: str
    content_type: str
    data: bytes


class ArticleFiles:
    def __init__(self, db: AsyncDatabase, max_bytes: int, accepted: list[str]) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=KNOWLEDGE_FILES)
        self.entries = db[f"{KNOWLEDGE_FILES}.files"]
        self.max_bytes, self.accepted = max_bytes, accepted

    async def save(self, article_id: str, data: bytes, filename: str | None, declared: str | None, by: str,
                   at: datetime) -> FileOut:
        """413 over the size limit, 415 when the bytes prove none of the accepted kinds (name and declared type
        prove nothing)."""
        if len(data) > self.max_bytes:
            raise ProblemError(413, "File too large", f"a file may have at most {self.max_bytes} bytes",
                               limit=self.max_bytes)
        kind = sniff(data, declared)
        if kind is None or kind.allowed_as not in self.accepted:
            raise ProblemError(415, "File type not accepted", f"the file's content is none of: "
                               f"{', '.join(self.accepted)} (its name and declared type prove nothing)",
                               accepted=self.accepted)
        file_id, name = new_id(), safe_filename(filename)
        await self.bucket.upload_from_stream_with_id(file_id, name, data, metadata={
            "article_id": article_id, "content_type": kind.content_type, "uploaded_by": by, "uploaded_at": at})
        return FileOut(id=file_id, filename=name, content_type=kind.content_type, size=len(data),
                       url=FILE_URL_PREFIX + file_id)

    async def article_of(self, file_id: str) -> str | None:
        entry: dict[str, Any] | None = await self.entries.find_one({"_id": file_id}, {"metadata.article_id": 1})
        return ((entry or {}).get("metadata") or {}).get("article_id")

    async def read(self, file_id: str) -> Stored | None:
        try:
            stream = await self.bucket.open_download_stream(file_id)
        except NoFile:
            return None
        meta = stream.metadata or {}
        return Stored(meta.get("article_id") or "", stream.filename or "attachment",
                      meta.get("content_type") or "application/octet-stream", bytes(await stream.read()))
