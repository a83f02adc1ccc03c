"""``notify.events``: delivery outcomes."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.envelope import Message, message


@message("NotificationSent")
class NotificationSent(Message):
    notification_id: str = Field(description="Idempotency key: event id + recipient + channel")
    event_id: str
    recipient: str
    channel: str
    template: str


@message("NotificationFailed")
class NotificationFailed(Message):
    notification_id: str
    event_id: str
    recipient: str
    channel: str
    template: str
    reason: str
    permanent: bool
    attempts: int
