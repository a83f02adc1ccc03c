"""One raw e-mail → an inbound message (no I/O): sender, threading headers, text, attachments, loops."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from shared.contracts.schemas.common import MAX_TEXT, Channel, Sender
from shared.contracts.schemas.inbound import MAX_MESSAGE_ID, MAX_REFERENCES, MESSAGE_ID_SHAPE, InboundMessage

from .domain import is_own_mail
from .identity import email_key

_IDS = re.compile(MESSAGE_ID_SHAPE)  # ids of any other shape are not trusted
_TAGS = re.compile(r"<[^>]+>")
_BOUNCERS = ("mailer-daemon@", "postmaster@")


@dataclass
class MailPart:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message: InboundMessage
    attachments: list[MailPart] = field(default_factory=list)
    ignored: str | None = None  # why this mail opens nothing (auto-reply, bounce, loop)


def auto_reason(mail: EmailMessage, sender: str | None) -> str | None:
    """Auto-replies, bounces and list mail never open tickets (RFC 3834, RFC 3464, de-facto headers)."""
    auto = (mail.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (mail.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if mail.get(header) is not None:
            return header
    if mail.get_content_type() == "multipart/report":
        return "delivery report"
    if (mail.get("Return-Path") or "").strip() == "<>":
        return "empty Return-Path (bounce)"
    if sender and sender.startswith(_BOUNCERS):
        return f"from {sender}"
    if mail.get("List-Id") is not None:
        return "mailing list"
    return None


def _ids(value: str | None) -> list[str]:
    return [i for i in _IDS.findall(value or "") if len(i) <= MAX_MESSAGE_ID]


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):
        payload = body.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if body.get_content_type() == "text/html":
        content = html.unescape(_TAGS.sub(" ", content))
    return str(content).strip()


def _attachments(mail: EmailMessage) -> list[MailPart]:
    out: list[MailPart] = []
    for part in mail.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        out.append(MailPart(filename=(part.get_filename() or "attachment")[:500],
                            content_type=part.get_content_type(), data=data))
    return out


def parse_mail(raw: bytes, *, domain: str, mailbox: str = "support") -> ParsedMail:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    addresses = getaddresses([str(mail.get("From", ""))])
    name, address = addresses[0] if addresses else ("", "")
    email = email_key(address)
    own_id = next(iter(_ids(mail.get("Message-ID"))), None)
    external = own_id or f"<sha256.{hashlib.sha256(raw).hexdigest()}@{mailbox}>"
    references = _ids(mail.get("References"))[-MAX_REFERENCES:]  # the newest
    in_reply_to = next(iter(_ids(mail.get("In-Reply-To"))), None)
    received_at: datetime | None = None
    if mail.get("Date"):
        try:
            received_at = parsedate_to_datetime(str(mail["Date"]))
        except (TypeError, ValueError):
            received_at = None
        if received_at is not None and received_at.tzinfo is None:
            received_at = None
    subject = str(mail.get("Subject", "") or "")[:1000] or None
    msg = InboundMessage(
        channel=Channel.email, external_id=external[:500],
        conversation_id=(references[0] if references else in_reply_to or external)[:500],
        sender=Sender(name=(name or None) and name[:300], email=email or (address[:320] or None)),
        subject=subject, text=_text(mail)[:MAX_TEXT], received_at=received_at,
        email_message_id=own_id, in_reply_to=in_reply_to, references=references,
        source_system=f"imap:{mailbox}"[:200],
    )
    reason = auto_reason(mail, email)
    if reason is None and is_own_mail(msg, domain):
        reason = "our own outbound mail"
    if reason:
        msg = msg.model_copy(update={"auto_submitted": True})
    return ParsedMail(message=msg, attachments=[] if reason else _attachments(mail), ignored=reason)
