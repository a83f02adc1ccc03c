"""The local mail catcher `make up` starts: a real SMTP submission lands on disk and on its page and JSON API,
survives a restart, and the SMS and chat sinks' records show beside the mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from services.notify.settings import NotifySettings
from services.notify.sinks import senders
from tests.support.testing import eventually
from tools.mailcatcher import MailStore, mail_dir, spawn

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def mail(subject: str, to: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Frontline Support <support@frontline.local>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    return msg


async def messages(http_url: str, **params: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(f"{http_url}/api/messages", params=params)
    resp.raise_for_status()
    return list(resp.json())


async def test_submitted_mail_is_kept_listed_and_survives_a_restart(tmp_path: Path) -> None:
    text = "Your ticket #42 is resolved.\nRate us: https://feedback.desk.test/s/abc?answer=good.\nThanks"
    catcher = spawn(tmp_path)
    try:
        assert catcher.http_url.startswith("http://127.0.0.1:")
        await aiosmtplib.send(mail("Ticket #42 resolved", "anna@client.example", text),
                              hostname="127.0.0.1", port=catcher.smtp_port, start_tls=False, timeout=30)
        [kept] = await eventually(lambda: messages(catcher.http_url), timeout=30, message="the mail on the API")
        assert kept["channel"] == "email"
        assert kept["subject"] == "Ticket #42 resolved"
        assert kept["to"] == ["anna@client.example"]
        assert "support@frontline.local" in str(kept["sender"])
        assert kept["text"] == text + "\n"
        assert kept["links"] == ["https://feedback.desk.test/s/abc?answer=good"]
        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(catcher.http_url + "/")
            one = await http.get(f"{catcher.http_url}/api/messages/{kept['id']}")
            missing = await http.get(f"{catcher.http_url}/api/messages/..%2F..%2Fetc%2Fpasswd")
            russian = await http.get(catcher.http_url + "/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
        assert page.status_code == 200 and "Ticket #42 resolved" in page.text
        assert "Frontline mail catcher" in page.text and "Перехватчик почты Frontline" in russian.text
        assert 'href="https://feedback.desk.test/s/abc?answer=good"' in page.text
        assert one.json() == kept
        assert missing.status_code == 404
        assert list(mail_dir(tmp_path).glob("*.eml")), "the raw message is kept beside its record"
    finally:
        catcher.stop()
    assert catcher.process.poll() is not None

    again = spawn(tmp_path)
    try:
        assert [m["id"] for m in await messages(again.http_url)] == [kept["id"]]
    finally:
        again.stop()


async def test_sms_and_chat_kept_by_notify_show_beside_mail_and_filter_by_channel(tmp_path: Path) -> None:
    store = MailStore(mail_dir(tmp_path))
    sms = store.add("sms", ["+79161234567"], "", "Ticket #7: an agent replied")
    chat = store.add("chat", ["conv-1"], "", "Ticket #7: an agent replied, see https://desk.test/t/7")
    catcher = spawn(tmp_path)
    try:
        everything = await messages(catcher.http_url)
        only_sms = await messages(catcher.http_url, channel="sms")
        to_conv = await messages(catcher.http_url, to="conv-1")
    finally:
        catcher.stop()
    assert [m["id"] for m in everything] == [chat.id, sms.id]  # newest first
    assert [m["id"] for m in only_sms] == [sms.id]
    assert [m["links"] for m in to_conv] == [["https://desk.test/t/7"]]


async def test_notify_pointed_at_the_catcher_as_make_up_does_shows_mail_and_sms_on_its_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catcher = spawn(tmp_path)
    try:
        for name, value in catcher.notify_env.items():
            monkeypatch.setenv(name, value)
        settings = NotifySettings()
        assert settings.missing_providers().keys() == {"sms", "chat"}  # e-mail goes over SMTP, to the catcher
        channels = senders(settings, lambda: NOW)
        for channel, address in (("email", "anna@client.example"), ("sms", "+79161234567")):
            sender = channels[channel]()
            try:
                await sender.send({"_id": f"n-{channel}", "ticket_id": "t-1", "address": address,
                                   "subject": "Ticket #5 resolved", "text": "Rate us: https://desk.test/s/5\n"})
            finally:
                await sender.close()
        async def both() -> list[dict[str, object]] | None:
            found = await messages(catcher.http_url)
            return found if len(found) == 2 else None

        kept = await eventually(both, timeout=30, message="both messages")
        async with httpx.AsyncClient(timeout=10) as http:
            page = (await http.get(catcher.http_url + "/")).text
    finally:
        catcher.stop()
    assert sorted((m["channel"], tuple(m["to"])) for m in kept) == [("email", ("anna@client.example",)),
                                                                   ("sms", ("+79161234567",))]
    assert page.count('href="https://desk.test/s/5"') == 2
