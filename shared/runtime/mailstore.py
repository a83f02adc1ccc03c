"""What the mail catcher keeps: one JSON record per message under its directory (and the raw ``.eml`` of mail).

Notify's development sinks write SMS and chat messages here too (``channel``), so the one page lists everything
that would have left the machine. Records are written whole (temporary file, then rename): the catcher and notify
write from different processes, and a reader never sees half a record. Message bodies are hostile input: they are
kept as text and only ever rendered escaped.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

DEFAULT_DIR = Path("var/mail")  # `make up`'s var directory (its --var), relative to where it runs
Channel = Literal["email", "sms", "chat"]
_ID = re.compile(r"[0-9]{20}-[0-9a-f]{32}")
# Only web links become links on the page; the characters that would end an HTML attribute end a link.
_LINK = re.compile(r"https?://[^\s<>\"'`]+")
MAX_TEXT = 100_000
MAX_LINKS = 50


class Kept(BaseModel):
    id: str
    channel: Channel
    received_at: datetime
    sender: str = ""
    to: list[str]
    subject: str = ""
    text: str = ""
    links: list[str] = []


def links_in(text: str) -> list[str]:
    found = (m.rstrip(".,;:!?)]") for m in _LINK.findall(text))
    return list(dict.fromkeys(found))[:MAX_LINKS]


def _text_of(raw: bytes) -> tuple[str, str, str]:
    """(sender, subject, text body) of a mail; the HTML part's source when it has no plain text part."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        return str(msg.get("from", "")), str(msg.get("subject", "")), str(text).replace("\r\n", "\n")
    except Exception:  # a mail no parser accepts is still shown: as its bytes
        return "", "", raw.decode("utf-8", "replace")


class MailStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def add(self, channel: Channel, to: list[str], subject: str, text: str, sender: str = "",
            raw: bytes | None = None) -> Kept:
        self.directory.mkdir(parents=True, exist_ok=True)
        kept = Kept(id=f"{time.time_ns():020d}-{uuid.uuid4().hex}", channel=channel, received_at=datetime.now(UTC),
                    sender=sender, to=to, subject=subject, text=text[:MAX_TEXT], links=links_in(text))
        if raw is not None:
            self._write(f"{kept.id}.eml", raw)
        self._write(f"{kept.id}.json", kept.model_dump_json().encode())
        return kept

    def add_email(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> Kept:
        sender, subject, text = _text_of(raw)
        return self.add("email", list(rcpt_tos), subject, text, sender or mail_from, raw)

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)

    def get(self, id: str) -> Kept | None:
        if not _ID.fullmatch(id):
            return None  # never a path of the caller's choosing
        return self._read(self.directory / f"{id}.json")

    def messages(self, limit: int = 200) -> list[Kept]:
        """The newest ``limit`` records, newest first (names sort by arrival)."""
        if not self.directory.is_dir():
            return []
        names = sorted((p for p in self.directory.glob("*.json") if _ID.fullmatch(p.stem)), reverse=True)
        return [k for k in map(self._read, names[:limit]) if k is not None]

    @staticmethod
    def _read(path: Path) -> Kept | None:
        try:
            return Kept.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None
