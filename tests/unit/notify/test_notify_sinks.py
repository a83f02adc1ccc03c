"""Nothing leaves the machine by default: without a provider, development keeps SMS, chat and mail in the local
sink (the mail catcher's store) and resolves no outside name; production names the settings it lacks."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notify.app import NotifyService
from services.notify.chat import ChatWebhook
from services.notify.email import SmtpSender
from services.notify.errors import SendError
from services.notify.settings import NotifySettings
from services.notify.sms import TwilioSms
from shared.runtime.clock import ManualClock
from tools.mailcatcher import MailStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TWILIO = {"sms_account_sid": "AC" + "0" * 32, "sms_auth_token": "secret", "sms_from": "+15005550006"}
ALL_PROVIDERS = {**TWILIO, "smtp_host": "smtp.desk.test", "chat_webhook_url": "http://127.0.0.1:9/c/{conversation_id}"}


def delivery(channel: str, address: str, **kw: Any) -> dict[str, Any]:
    return {"_id": f"n-{channel}", "event_id": "e-1", "ticket_id": "t-1", "recipient": "client:anna",
            "channel": channel, "address": address, "template": "reply", "subject": "Re: [#9] Printer",
            "text": "An agent replied: https://desk.test/t/9\n", "language": "en", "automatic": False, **kw}


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every name resolved while the test runs; a name outside this machine fails the lookup, as offline."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        asked.append(name)
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"offline test: no lookup of {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield asked


def factories(settings: NotifySettings) -> dict[str, Callable[[], Any]]:
    """The senders notify's dispatcher runs, as the service wires them."""
    return dict(NotifyService(settings, ManualClock(NOW)).dispatcher.factories)


async def test_development_without_providers_keeps_every_channel_locally(tmp_path: Path,
                                                                         lookups: list[str]) -> None:
    senders = factories(NotifySettings(sink_dir=str(tmp_path)))
    for channel, address in (("sms", "+7 916 123-45-67"), ("chat", "conv-1"), ("email", "anna@client.example")):
        sender = senders[channel]()
        try:
            assert await sender.send(delivery(channel, address))
        finally:
            await sender.close()
    kept = {k.channel: k for k in MailStore(tmp_path).messages()}
    assert kept["sms"].to == ["+79161234567"] and kept["sms"].text.startswith("An agent replied")
    assert kept["chat"].to == ["conv-1"] and kept["chat"].links == ["https://desk.test/t/9"]
    assert kept["email"].to == ["anna@client.example"] and kept["email"].subject == "Re: [#9] Printer"
    assert [name for name in lookups if name not in LOOPBACK] == []


@pytest.mark.parametrize(("channel", "address"), [("sms", "not a phone"), ("chat", ""), ("email", "nobody")])
async def test_the_sink_refuses_what_a_provider_would_refuse(tmp_path: Path, channel: str, address: str) -> None:
    sender = factories(NotifySettings(sink_dir=str(tmp_path)))[channel]()
    with pytest.raises(SendError) as exc:
        await sender.send(delivery(channel, address))
    assert exc.value.permanent
    assert MailStore(tmp_path).messages() == []


def test_a_configured_provider_is_used_in_either_environment(tmp_path: Path) -> None:
    for environment in ("development", "production"):
        s = NotifySettings(sink_dir=str(tmp_path), environment=environment, command_key="k" * 32, **ALL_PROVIDERS)
        senders = factories(s)
        assert isinstance(senders["sms"](), TwilioSms)
        assert isinstance(senders["chat"](), ChatWebhook)
        assert isinstance(senders["email"](), SmtpSender)
        assert s.missing_providers() == {}


async def test_production_without_providers_sends_nowhere_and_names_what_is_missing(tmp_path: Path,
                                                                                    lookups: list[str]) -> None:
    s = NotifySettings(sink_dir=str(tmp_path), environment="production", command_key="k" * 32, sms_auth_token="secret")
    assert s.missing_providers() == {
        "email": ["NOTIFY_SMTP_HOST"],
        "sms": ["NOTIFY_SMS_ACCOUNT_SID", "NOTIFY_SMS_FROM or NOTIFY_SMS_MESSAGING_SERVICE_SID"],
        "chat": ["NOTIFY_CHAT_WEBHOOK_URL"]}
    senders = factories(s)
    with pytest.raises(SendError) as exc:
        await senders["sms"]().send(delivery("sms", "+79161234567"))
    assert not exc.value.permanent and "NOTIFY_SMS_ACCOUNT_SID" in str(exc.value)  # kept until configured
    assert MailStore(tmp_path).messages() == [] and lookups == []


async def test_a_channel_the_desk_does_not_use_needs_no_provider_and_fails_at_once(tmp_path: Path,
                                                                                  lookups: list[str]) -> None:
    """A production desk with e-mail only is ready; a notification for a switched-off channel is never sent."""
    s = NotifySettings(sink_dir=str(tmp_path), environment="production", command_key="k" * 32,
                       smtp_host="smtp.desk.test", channels=["email"])
    assert s.missing_providers() == {}
    senders = factories(s)
    assert isinstance(senders["email"](), SmtpSender)
    for channel, address in (("sms", "+79161234567"), ("chat", "chat-1")):
        with pytest.raises(SendError) as exc:
            await senders[channel]().send(delivery(channel, address))
        assert exc.value.permanent and "NOTIFY_CHANNELS" in str(exc.value), exc.value
    assert MailStore(tmp_path).messages() == [] and lookups == []
