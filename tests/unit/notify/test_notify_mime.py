"""The directly written mail (``mime.py``) reads back as ``build_message``'s does: same headers, same parts; what
it cannot write goes the reference way, and what nothing can send still fails for good."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from services.notify.email import SmtpSender, build_message
from services.notify.errors import SendError
from services.notify.settings import NotifySettings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LONG = "Re: [#12] " + "очень длинная тема письма " * 8
CASES: list[dict[str, Any]] = [
    {},
    {"subject": LONG, "text": "Строка\n" * 40 + "x" * 2000 + "\n"},
    {"subject": "Re: [#9] " + "a long plain subject " * 8, "automatic": False, "html": ""},
    {"in_reply_to": "m1@c.test", "references": ["<m0@c.test>", "bad\r\nX-Evil: 1", "<m1@c.test>"]},
    {"in_reply_to": "<m1@c.test>", "references": [f"<m{i}@client.example.com>" for i in range(20)]},
    {"in_reply_to": "not a message id\r\nBcc: x@y.z", "ticket_id": None, "language": "en"},
]


def settings(reply_to: str | None = "reply@desk.test") -> NotifySettings:
    return NotifySettings(mail_domain="desk.test", mail_from="Служба поддержки <desk@desk.test>",
                          mail_reply_to=reply_to)


def delivery(**kw: Any) -> dict[str, Any]:
    return {"_id": "n-1", "ticket_id": "t-1", "address": "anna@c.test", "subject": "Re: [#9] Принтер",
            "text": "Привет\n", "html": "<p>Привет</p>", "language": "ru", "automatic": True, **kw}


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def shape(msg: EmailMessage) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Headers (decoded; the MIME framing and the random Message-ID of a mail about no ticket left out) and parts."""
    skip = {"content-type", "content-transfer-encoding", "mime-version"}
    if msg["X-Frontline-Ticket"] is None:
        skip.add("message-id")
    headers = {k.lower(): str(v) for k, v in msg.items() if k.lower() not in skip}
    parts = [(p.get_content_type(), p.get_content()) for p in msg.walk() if not p.is_multipart()]
    return headers, parts


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reply_to", ["reply@desk.test", None])
def test_the_direct_mail_reads_back_as_the_reference_one(case: dict[str, Any], reply_to: str | None) -> None:
    d, s = delivery(**case), settings(reply_to)
    raw = SmtpSender(s, lambda: NOW)._plain(d, [])
    assert raw is not None and max(len(line) for line in raw.split(b"\r\n")) <= 998
    reference = parsed(bytes(build_message(d, s, NOW)))
    assert shape(parsed(raw)) == shape(reference)
    assert parsed(raw)["Content-Language"] == d["language"]


def test_what_it_cannot_write_goes_the_reference_way_and_a_broken_header_still_fails_for_good() -> None:
    sender = SmtpSender(settings(), lambda: NOW)
    assert sender._plain(delivery(address="анна@c.test"), []) is None  # SMTPUTF8: the reference decides
    assert sender._plain(delivery(attachments=[{"file_id": "f"}]), []) is None
    assert sender._plain(delivery(subject="Hi\r\nBcc: spy@evil.test"), []) is None


async def test_a_subject_with_a_line_break_is_a_permanent_failure() -> None:
    sender = SmtpSender(settings(), lambda: NOW)
    with pytest.raises(SendError) as failed:
        await sender.send(delivery(subject="Hi\r\nBcc: spy@evil.test"))
    assert failed.value.permanent
