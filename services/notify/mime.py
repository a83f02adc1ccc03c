"""The bytes of a plain notification mail (text and HTML, no files), written directly.

``email.message.EmailMessage`` parses every header into an object and folds it again on output: 2.2 ms of CPU a
mail, a third of notify's cost per e-mail. A notification has a fixed shape, so its MIME is written here: the same
headers as ``email.build_message`` (which still builds mail with files, and is the reference the tests compare this
with), free text in RFC 2047 words when it is not ASCII, and each part in base64 so no line can be too long.
A header value with CR or LF is refused (``ValueError``), as ``EmailMessage`` refuses it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any
from uuid import uuid4

from shared.contracts.mail import outbound_message_id

from .settings import NotifySettings

CRLF = "\r\n"


def plain(d: Mapping[str, Any], files: object) -> bool:
    """Whether the delivery can be written here: no files, and an ASCII address (else SMTPUTF8 decides)."""
    return not files and not d.get("attachments") and str(d.get("address") or "").isascii()


def _clean(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} may not contain linefeed or carriage return characters")
    return value


def _text(name: str, value: str) -> str:
    """Free text (a subject): as it is when short ASCII, else RFC 2047 encoded words, folded."""
    _clean(name, value)
    if value.isascii() and len(name) + len(value) < 76:
        return value
    return Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name).encode(linesep=CRLF)


@lru_cache(maxsize=8)
def _addresses(mail_from: str, reply_to: str | None) -> str:
    """From and Reply-To as ``EmailMessage`` writes them (settings: written once)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = mail_from
    if reply_to:
        msg["Reply-To"] = reply_to
    return "".join(msg.policy.fold(k, v) for k, v in msg.items())


def _part(subtype: str, body: str) -> str:
    """One text part; its lines end as ``EmailMessage.set_content`` ends them (the last one too)."""
    text = b"\n".join(body.encode("utf-8").splitlines()) + b"\n"
    data = base64.encodebytes(text).decode("ascii").replace("\n", CRLF)
    return (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}'
            f"{data}")


def encode(d: Mapping[str, Any], settings: NotifySettings, now: datetime, in_reply_to: str | None,
           references: list[str]) -> bytes:
    """The whole message; ``in_reply_to`` and ``references`` already checked (``email.thread_id``)."""
    ticket_id = d.get("ticket_id")
    message_id = outbound_message_id(ticket_id, d["_id"], settings.mail_domain) if ticket_id \
        else make_msgid(domain=settings.mail_domain)
    head = [_addresses(settings.mail_from, settings.mail_reply_to),
            f"To: {_clean('To', d['address'])}{CRLF}", f"Subject: {_text('Subject', d['subject'])}{CRLF}",
            f"Date: {format_datetime(now)}{CRLF}", f"Message-ID: {_clean('Message-ID', message_id)}{CRLF}"]
    if in_reply_to:
        head.append(f"In-Reply-To: {in_reply_to}{CRLF}References: {(CRLF + ' ').join(references)}{CRLF}")
    if d.get("automatic", True):
        head.append(f"Auto-Submitted: auto-generated{CRLF}X-Auto-Response-Suppress: All{CRLF}")
    if ticket_id:
        head.append(f"X-Frontline-Ticket: {_clean('X-Frontline-Ticket', ticket_id)}{CRLF}")
    head.append(f"X-Frontline-Notification: {_clean('X-Frontline-Notification', d['_id'])}{CRLF}")
    language = _clean("Content-Language", d.get("language") or "ru")
    head.append(f"Content-Language: {language}{CRLF}MIME-Version: 1.0{CRLF}")
    if not d.get("html"):
        return ("".join(head) + _part("plain", d["text"])).encode("ascii")
    boundary = f"=_frontline_{uuid4().hex}"
    body = (f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
            f"--{boundary}{CRLF}{_part('plain', d['text'])}--{boundary}{CRLF}{_part('html', d['html'])}"
            f"--{boundary}--{CRLF}")
    return ("".join(head) + body).encode("ascii")
