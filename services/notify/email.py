"""E-mail over SMTP submission (aiosmtplib): threading headers, and SMTP replies mapped to retry or give up.

Every mail carries our ``Message-ID`` (``shared.contracts.mail.outbound_message_id``), so intake threads the
client's answer back into the ticket; mail to a client continues the client's own thread with
``In-Reply-To``/``References``. Mail nobody typed carries ``Auto-Submitted: auto-generated``
(RFC 3834) so auto-responders do not answer it and loop. A threading id that is not a clean
``<local@domain>`` (a CR/LF would end the header and start another) is left out: the reply still goes,
unthreaded. A message that cannot be built at all will never be, so it fails at once instead of retrying.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from typing import Any, Protocol

import aiosmtplib
from pydantic import TypeAdapter, ValidationError

from shared.contracts.mail import outbound_message_id
from shared.contracts.schemas.inbound import MessageId

from . import mime
from .attachments import MailFile
from .domain import valid_email
from .errors import SendError, permanent, transient
from .settings import NotifySettings

log = logging.getLogger(__name__)
# Auth and "too busy" replies are configuration or load problems that may clear: keep retrying them.
_RETRYABLE_5XX = frozenset({530, 534, 535, 538, 552})


_MESSAGE_ID: TypeAdapter[str] = TypeAdapter(MessageId)


def _bracket(msg_id: str) -> str:
    msg_id = msg_id.strip()
    return msg_id if msg_id.startswith("<") else f"<{msg_id}>"


def thread_id(msg_id: object) -> str | None:
    """``msg_id`` in angle brackets if it is a valid message id, else None (never a header injection)."""
    if not isinstance(msg_id, str):
        return None
    try:
        return _MESSAGE_ID.validate_python(_bracket(msg_id))
    except ValidationError:
        return None


class FileSource(Protocol):
    """Where a delivery's files come from (``attachments.ReplyFiles``)."""

    async def load(self, d: Mapping[str, Any]) -> list[MailFile]: ...


def build_message(d: Mapping[str, Any], settings: NotifySettings, now: datetime,
                  files: Sequence[MailFile] = ()) -> EmailMessage:
    """The MIME message for one delivery document and its files, each a part to download, never inline (pure)."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = d["address"]
    if settings.mail_reply_to:
        msg["Reply-To"] = settings.mail_reply_to
    msg["Subject"] = d["subject"]
    msg["Date"] = format_datetime(now)
    # A mail about no ticket (a portal sign-in link) gets a Message-ID nothing threads back to.
    ticket_id = d.get("ticket_id")
    msg["Message-ID"] = outbound_message_id(ticket_id, d["_id"], settings.mail_domain) if ticket_id \
        else make_msgid(domain=settings.mail_domain)
    in_reply_to = thread_id(d.get("in_reply_to"))
    if in_reply_to:
        refs = [r for r in map(thread_id, d.get("references") or []) if r] or [in_reply_to]
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(refs)
    if d.get("automatic", True):
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    if ticket_id:
        msg["X-Frontline-Ticket"] = ticket_id
    msg["X-Frontline-Notification"] = d["_id"]
    msg.set_content(d["text"])
    if d.get("html"):
        msg.add_alternative(d["html"], subtype="html")
    msg["Content-Language"] = d.get("language") or "ru"  # after the content: setting it clears Content-* headers
    for f in files:
        maintype, _, subtype = f.content_type.partition("/")
        msg.add_attachment(f.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                           filename=f.filename, disposition="attachment")
    return msg


async def attached_files(source: FileSource | None, d: Mapping[str, Any]) -> list[MailFile]:
    """The delivery's files; a mail that names files must never go without them."""
    if not d.get("attachments"):
        return []
    if source is None:
        raise permanent("this sender cannot attach files: the reply was not sent")
    return await source.load(d)


def classify(exc: BaseException) -> SendError:
    """SMTP 5xx to a recipient is final; 4xx, timeouts and lost connections are worth another try."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        final = bool(codes) and all(500 <= c < 600 and c not in _RETRYABLE_5XX for c in codes)
        return SendError(f"recipient refused: {text}", permanent=final)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        final = 500 <= exc.code < 600 and exc.code not in _RETRYABLE_5XX
        return SendError(f"SMTP {exc.code} {exc.message}", permanent=final)
    return transient(f"SMTP unavailable: {exc!r}"[:500])


@lru_cache(maxsize=8)
def _envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1] or mail_from


class SmtpSender:
    """One persistent SMTP session per worker, reopened after any failure."""

    def __init__(self, settings: NotifySettings, now: Any, files: FileSource | None = None) -> None:
        self.settings, self.now, self.files = settings, now, files
        self._client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, use_tls=s.smtp_tls,
                                 start_tls=s.smtp_starttls, validate_certs=s.smtp_validate_certs,
                                 timeout=s.smtp_timeout, username=s.smtp_username, password=s.smtp_password)
        await client.connect()
        return client

    async def send(self, d: Mapping[str, Any]) -> str:
        if not valid_email(d.get("address")):
            raise permanent(f"invalid e-mail address {d.get('address')!r}")
        attached = await attached_files(self.files, d)
        raw = self._plain(d, attached)
        try:
            message = build_message(d, self.settings, self.now(), attached) if raw is None else None
        except (ValueError, TypeError, KeyError) as exc:  # e.g. a header value with CR/LF: no retry will fix it
            raise permanent(f"cannot build the message: {exc}"[:500]) from exc
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._connect()
            if raw is not None:
                _errors, response = await self._client.sendmail(self._sender(), [d["address"]], raw)
            else:
                _errors, response = await self._client.send_message(message)  # type: ignore[arg-type]
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise classify(exc) from exc
        return str(response)

    def _plain(self, d: Mapping[str, Any], files: Sequence[MailFile]) -> bytes | None:
        """The mail written directly (``mime.py``); None for what only ``build_message`` writes (files, a non-ASCII
        address, a value the direct way refuses: ``build_message`` then decides whether it can be sent at all)."""
        if not mime.plain(d, files):
            return None
        in_reply_to = thread_id(d.get("in_reply_to"))
        references = ([r for r in map(thread_id, d.get("references") or []) if r] or [in_reply_to]) \
            if in_reply_to else []
        try:
            return mime.encode(d, self.settings, self.now(), in_reply_to, [r for r in references if r])
        except (ValueError, TypeError, KeyError):
            return None

    def _sender(self) -> str:
        return _envelope_sender(self.settings.mail_from)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                if client.is_connected:
                    await asyncio.wait_for(client.quit(), 2)
            except Exception:  # a dead session: nothing to say goodbye to
                client.close()
