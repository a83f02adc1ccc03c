"""A ClamAV daemon client: clamd's ``INSTREAM`` command over TCP or a unix socket, and nothing else.

The bytes go in chunks, each prefixed by its length as a 4-byte big-endian integer, ended by a zero length; clamd
answers one NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or ``<reason> ERROR``. Anything but
a verdict (no connection, a timeout, an ERROR such as the stream size limit) is :class:`ScannerUnavailable`: the
caller keeps the file pending, never calls it clean. The ``clamd`` package on PyPI has not been released since
2014 and is synchronous, hence this small client.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
MAX_REPLY = 4096


class ScanSettings(BaseModel):
    """Mixed into the settings of each service that stores files (env ``<SERVICE>_ATTACHMENT_SCAN_URL``)."""

    attachment_scan_url: str | None = Field(
        None, description="clamd that scans every new file: tcp://host:3310 or unix:///run/clamav/clamd.ctl; unset: "
                          "files are clean at once (docs/operations.md, \"Malware scanning\")")
    attachment_scan_timeout: float = Field(30.0, gt=0, description="Longest wait for clamd's verdict on one file, "
                                                                   "seconds; past it the file stays pending")


@dataclass(frozen=True)
class Verdict:
    signature: str | None = None  # what clamd found; None: clean

    @property
    def infected(self) -> bool:
        return self.signature is not None


class ScannerUnavailable(Exception):
    """No verdict: the scanner is down, slow or refused the stream."""


def parse_reply(reply: bytes) -> Verdict:
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    body = text.split(":", 1)[1].strip() if ":" in text else text
    if body == "OK":
        return Verdict()
    if body.endswith(" FOUND"):
        return Verdict(body.removesuffix(" FOUND").strip()[:200] or "unknown")
    raise ScannerUnavailable(f"clamd answered {text[:200]!r}")


class Clamd:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme == "unix" and parts.path:
            self.path: str | None = parts.path
            self.host, self.port = None, 0
        elif parts.scheme == "tcp" and parts.hostname and parts.port:
            self.path, self.host, self.port = None, parts.hostname, parts.port
        else:
            raise ValueError(f"not a clamd address: {url!r} (tcp://host:port or unix:///path)")
        self.url, self.timeout = url, timeout

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.path is not None:
            return await asyncio.open_unix_connection(self.path)
        return await asyncio.open_connection(self.host, self.port)

    async def scan(self, data: bytes) -> Verdict:
        """clamd's verdict on ``data``, or :class:`ScannerUnavailable`."""
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self._open()
                writer.write(b"zINSTREAM\0")
                for start in range(0, len(data), CHUNK):
                    chunk = data[start:start + CHUNK]
                    writer.write(struct.pack(">I", len(chunk)) + chunk)
                    await writer.drain()
                writer.write(struct.pack(">I", 0))
                await writer.drain()
                reply = await reader.readuntil(b"\0")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise ScannerUnavailable(f"clamd at {self.url} gave no verdict: {exc!r}"[:300]) from exc
        finally:
            if writer is not None:
                writer.close()
        return parse_reply(reply[:MAX_REPLY])


def scanner(settings: ScanSettings) -> Clamd | None:
    url = settings.attachment_scan_url
    return Clamd(url, settings.attachment_scan_timeout) if url else None


def scanner_status(settings: ScanSettings, production: bool) -> dict[str, str]:
    """What ``/readyz`` says about malware scanning. Production without a scanner still starts and is ready (files are
    clean at once, docs/operations.md "Malware scanning"), but says so once, at start, in the log."""
    if settings.attachment_scan_url:
        return {"scanner": "clamd"}
    if production:
        variable = f"{settings.model_config.get('env_prefix', '')}ATTACHMENT_SCAN_URL"
        log.warning("no malware scanner configured (%s is unset): files are not scanned and are served and sent "
                    "as they came", variable)
    return {"scanner": "not configured"}
