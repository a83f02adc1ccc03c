"""What an uploaded file is, decided by its bytes (never by its name or the type its sender declares), and how a
stored file may be served without running in the desk's origin: the one definition for every service that takes
files from people (the gateway's ticket attachments, the knowledge base's article files)."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

OFFICE_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
         (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"))
ZIP = b"PK\x03\x04"
# An Office file is a zip with [Content_Types].xml whose parts live in one folder per application.
OFFICE_FOLDERS = {"word/": OFFICE_TYPES["docx"], "xl/": OFFICE_TYPES["xlsx"], "ppt/": OFFICE_TYPES["pptx"]}
# Text that says what it is may keep its declared type (a CSV stays a CSV); serving decides whether it is safe.
TEXTUAL = re.compile(r"^(text/[a-z0-9.+-]+|application/(json|xml|javascript|[a-z0-9.-]+\+(xml|json))|image/svg\+xml)$")
ALLOWED_CONTROLS = frozenset("\t\n\r\f")
# Served with their own type; anything else (HTML, SVG, XML, JavaScript, unknown) as application/octet-stream.
INLINE_SAFE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
                         "text/csv", "application/zip", *OFFICE_TYPES.values()})
MAX_FILENAME = 200


@dataclass(frozen=True)
class Kind:
    allowed_as: str  # what the settings' list of accepted kinds names (all text is text/plain)
    content_type: str  # what is stored and recorded


def sniff(data: bytes, declared: str | None) -> Kind | None:
    """The kind of file the bytes prove, or None when they prove none we know."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return Kind(kind, kind)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Kind("image/webp", "image/webp")
    if data.startswith(ZIP):
        found = _zip_kind(data)
        return Kind(found, found) if found else None
    if _is_text(data):
        base = media_type(declared)
        return Kind("text/plain", base if TEXTUAL.match(base) else "text/plain")
    return None


def _zip_kind(data: bytes) -> str | None:
    """Reads the archive's directory only (nothing is decompressed)."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" in names:
        for folder, kind in OFFICE_FOLDERS.items():
            if any(n.startswith(folder) for n in names):
                return kind
    return "application/zip"


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS for c in text)


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def served_type(stored: str | None) -> str:
    base = media_type(stored)
    return base if base in INLINE_SAFE else "application/octet-stream"


def safe_filename(name: str | None) -> str:
    """The last path segment, without control or format characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in base).strip()
    return base[:MAX_FILENAME].strip() or "attachment"


def disposition(name: str | None) -> str:
    """Always a download (RFC 6266 with the RFC 8187 UTF-8 form), never shown in the desk's page."""
    return f"attachment; filename*=UTF-8''{quote(safe_filename(name), safe='')}"


def download_headers(name: str | None) -> dict[str, str]:
    """What every served file carries: a download, never sniffed, sandboxed if opened, kept in no shared cache."""
    return {"Content-Disposition": disposition(name), "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"}
