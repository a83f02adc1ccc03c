"""Notify's mailer of portal sign-in links: sent at once in the contact's language, never once expired, a mail
that can never go parked (Poison) and one that may go later retried (raised)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.errors import SendError, permanent, transient
from services.notify.settings import NotifySettings
from services.notify.sign_in_mail import SignInMailer
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas.portal import SignInLinkIssued
from shared.directory.notify import TemplateOverride
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import Poison

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
URL = "https://portal.example/portal/link?token=" + "A" * 43


class Outbox:
    def __init__(self, error: SendError | None = None) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.closed = 0
        self.error = error

    async def send(self, d: Mapping[str, Any]) -> str:
        if self.error:
            raise self.error
        self.sent.append(d)
        return "ok"

    async def close(self) -> None:
        self.closed += 1


class NoOverrides:
    async def template(self, name: str, language: str) -> TemplateOverride | None:
        return None


def item(language: str | None = "ru", minutes: int = 15) -> tuple[Any, SignInLinkIssued]:
    msg = SignInLinkIssued(link_id="h" * 64, email="anna@c1.example", name="Анна", language=language,  # type: ignore[arg-type]
                           url=URL, expires_at=T0 + timedelta(minutes=minutes))
    return envelope_for(msg, msg.link_id, occurred_at=T0, actor="gateway"), msg


def mailer(outbox: Outbox, clock: ManualClock) -> SignInMailer:
    return SignInMailer(lambda: outbox, NoOverrides(), clock, NotifySettings(default_language="en"))


async def test_the_link_is_mailed_in_the_contacts_language_with_its_lifetime() -> None:
    outbox = Outbox()
    await mailer(outbox, ManualClock(T0 + timedelta(minutes=3))).on_link(item("ru"))
    (mail,) = outbox.sent
    assert mail["address"] == "anna@c1.example" and mail["subject"] == "Ссылка для входа"
    assert URL in mail["text"] and "15 мин." in mail["text"] and "Анна" in mail["text"]
    assert f'href="{URL}"' in mail["html"] and "ticket_id" not in mail and outbox.closed == 1
    await mailer(outbox, ManualClock(T0)).on_link(item(None))
    assert outbox.sent[-1]["subject"] == "Your sign-in link", "no language asked for: notify's default"


async def test_an_expired_link_is_not_mailed() -> None:
    outbox = Outbox()
    await mailer(outbox, ManualClock(T0 + timedelta(minutes=15))).on_link(item())
    assert outbox.sent == []


async def test_a_mail_that_can_never_go_is_parked_and_one_that_may_is_retried() -> None:
    with pytest.raises(Poison, match="invalid"):
        await mailer(Outbox(permanent("invalid e-mail address")), ManualClock(T0)).on_link(item())
    with pytest.raises(SendError, match="SMTP unavailable"):
        await mailer(Outbox(transient("SMTP unavailable")), ManualClock(T0)).on_link(item())
