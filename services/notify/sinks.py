"""Which sender each channel gets: its provider when configured, else nothing leaves the machine.

Development keeps a message for a channel without a provider in the local sink (``shared.runtime.mailstore``,
listed by the mail catcher `make up` starts), checked as its provider would check it. Production sends it
nowhere: the attempt fails as retryable, naming the missing settings, and ``/readyz`` says the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from shared.runtime.mailstore import Channel, MailStore

from .chat import ChatWebhook
from .dispatcher import Sender
from .domain import valid_email
from .email import FileSource, SmtpSender, attached_files, build_message
from .errors import permanent, transient
from .settings import NotifySettings
from .sms import TwilioSms
from .sms_text import fit, to_e164

log = logging.getLogger(__name__)


class LocalSink:
    """Development stand-in for a channel's provider: the message is kept on disk, never sent."""

    def __init__(self, channel: Channel, settings: NotifySettings, files: FileSource | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.channel, self.s, self.files, self.now = channel, settings, files, now
        self.store = MailStore(Path(settings.sink_dir))

    def address(self, d: Mapping[str, Any]) -> str:
        address = d.get("address")
        if self.channel == "sms":
            address = to_e164(address, self.s.sms_default_region)
        elif self.channel == "email" and not valid_email(address):
            address = None
        if not address:
            raise permanent(f"invalid {self.channel} address {d.get('address')!r}")
        return str(address)

    async def send(self, d: Mapping[str, Any]) -> str:
        to = self.address(d)
        if self.channel == "email" and d.get("attachments"):  # kept whole, with its files, as the provider gets it
            raw = bytes(build_message(d, self.s, (self.now or _utcnow)(), await attached_files(self.files, d)))
            kept = await asyncio.to_thread(self.store.add_email, raw, self.s.mail_from, [to])
            return f"kept locally: {kept.id}"
        text = fit(d["text"], self.s.sms_max_segments) if self.channel == "sms" else d["text"]
        subject = str(d.get("subject") or "") if self.channel == "email" else ""
        sender = self.s.mail_from if self.channel == "email" else "frontline notify"
        kept = await asyncio.to_thread(self.store.add, self.channel, [to], subject, text, sender)
        return f"kept locally: {kept.id}"

    async def close(self) -> None:
        return None


def no_provider(channel: str, missing: list[str]) -> str:
    return f"no {channel} provider configured: set {', '.join(missing)}"


def not_ready_because(settings: NotifySettings) -> list[str]:
    """Production sends nothing through a channel without a provider; development keeps it in the sink."""
    return [no_provider(c, names) for c, names in settings.missing_providers().items()] if settings.production else []


class Unconfigured:
    """Production without a provider: nothing is sent; the delivery waits, retried, until one is configured."""

    def __init__(self, channel: str, missing: list[str]) -> None:
        self.reason = no_provider(channel, missing)

    async def send(self, d: Mapping[str, Any]) -> str:
        raise transient(self.reason)

    async def close(self) -> None:
        return None


class SwitchedOff:
    """A channel this desk does not use (not in NOTIFY_CHANNELS): nothing is sent, the delivery fails at once."""

    def __init__(self, channel: str) -> None:
        self.reason = f"the {channel} channel is off on this desk (NOTIFY_CHANNELS)"

    async def send(self, d: Mapping[str, Any]) -> str:
        raise permanent(self.reason)

    async def close(self) -> None:
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def senders(settings: NotifySettings, now: Callable[[], datetime],
            files: FileSource | None = None) -> dict[str, Callable[[], Sender]]:
    """A factory per channel, for the dispatcher's workers; ``files``: where e-mail reads a reply's files."""
    providers: dict[str, Callable[[], Sender]] = {
        "email": lambda: SmtpSender(settings, now, files),
        "sms": lambda: TwilioSms(settings),
        "chat": lambda: ChatWebhook(settings),
    }
    for channel, names in settings.missing_providers().items():
        if settings.production:
            log.error(no_provider(channel, names))
            providers[channel] = partial(Unconfigured, channel, names)
        else:
            log.warning("no %s provider configured: %s messages are kept in %s (development)",
                        channel, channel, settings.sink_dir)
            providers[channel] = partial(LocalSink, channel, settings, files, now)
    for channel in settings.channels_off:
        providers[channel] = partial(SwitchedOff, channel)
    return providers
