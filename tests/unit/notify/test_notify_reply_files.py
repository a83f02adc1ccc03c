"""A reply's files, decided without I/O: which stored file may be mailed, how other channels name files, and that
the development sink keeps a reply's mail whole with its files (and refuses it when a file must not go)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notify.attachments import MailFile, file_lines, refusal, with_file_lines
from services.notify.errors import SendError, permanent
from services.notify.settings import NotifySettings
from services.notify.sinks import LocalSink
from tools.mailcatcher import MailStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RAW = {"id": "f1", "filename": "a\r\nBcc: x.pdf", "content_type": "application/pdf", "size": 4}


def entry(status: str | None, ticket_id: str = "t-1") -> dict[str, Any]:
    meta: dict[str, Any] = {"ticket_id": ticket_id, "content_type": "application/pdf"}
    if status:
        meta["scan"] = {"status": status}
    return {"_id": "f1", "filename": "a.pdf", "length": 4, "metadata": meta}


def test_only_a_clean_file_of_the_replys_own_ticket_may_be_mailed() -> None:
    assert refusal(RAW, entry("clean"), "t-1") is None
    assert refusal(RAW, entry(None), "t-1") is None  # stored before scanning existed
    reasons = {k: refusal(RAW, e, "t-1") for k, e in {"infected": entry("infected"), "pending": entry("pending"),
                                                        "other": entry("clean", "t-2"), "missing": None}.items()}
    assert "quarantined" in str(reasons["infected"]) and "not been scanned" in str(reasons["pending"])
    assert "not a stored file of this ticket" in str(reasons["other"]) == str(reasons["missing"]) != ""
    assert all("\r" not in str(r) and "\n" not in str(r) for r in reasons.values())


def test_other_channels_name_each_file_with_the_portal_page_in_the_clients_language() -> None:
    files = [{"id": "f1", "filename": "счёт.pdf"}, {"id": "f2", "filename": "b.png"}]
    assert file_lines(files, "T1", "https://desk.test/", "ru") == \
        "Файл счёт.pdf: https://desk.test/portal/tickets/T1\nФайл b.png: https://desk.test/portal/tickets/T1"
    assert file_lines(files[:1], "T1", None, "en") == "File счёт.pdf: in the client portal"
    assert file_lines([], "T1", "https://desk.test", "en") == ""
    assert with_file_lines("text", "sms", "L") == "L\n\ntext" and with_file_lines("text", "chat", "L") == "text\n\nL"
    assert with_file_lines("text", "chat", "") == "text"


class Files:
    def __init__(self, error: SendError | None = None) -> None:
        self.error = error

    async def load(self, d: Mapping[str, Any]) -> list[MailFile]:
        if self.error:
            raise self.error
        return [MailFile("a.pdf", "application/pdf", b"%PDF-1.4")]


def delivery(**kw: Any) -> dict[str, Any]:
    return {"_id": "n-1", "event_id": "e-1", "ticket_id": "t-1", "recipient": "client:anna", "channel": "email",
            "address": "anna@client.test", "template": "reply", "subject": "Re: [#9]", "text": "see attached",
            "language": "en", "automatic": False, "attachments": [RAW], **kw}


async def test_the_development_sink_keeps_a_replys_mail_with_its_files_or_refuses_it(tmp_path: Path) -> None:
    s = NotifySettings(sink_dir=str(tmp_path))
    await LocalSink("email", s, Files(), lambda: NOW).send(delivery())
    [kept] = MailStore(tmp_path).messages()
    raw = (tmp_path / f"{kept.id}.eml").read_bytes()
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    [part] = list(mail.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_filename() == "a.pdf" and part.get_content() == b"%PDF-1.4"
    with pytest.raises(SendError, match="quarantined") as refused:
        await LocalSink("email", s, Files(permanent("attachment a.pdf is quarantined")), lambda: NOW).send(delivery())
    assert refused.value.permanent
    with pytest.raises(SendError, match="cannot attach"):
        await LocalSink("email", s).send(delivery())
    assert len(MailStore(tmp_path).messages()) == 1
