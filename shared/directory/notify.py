"""Notify directories: per-person notification preferences.

Owned by notify. The key is the person's id: an agent id for staff, the client's
``contact_id`` (or ``client_id`` when there is no contact) for clients.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from shared.directory import register


class NotifyChannel(StrEnum):
    email = "email"
    sms = "sms"
    in_app = "in_app"


class QuietHours(BaseModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="Local time pushes stop, e.g. 22:00")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="Local time pushes resume; may be before start")
    timezone: str = Field("UTC", description="IANA zone, e.g. Europe/Moscow")


class NotifyPreference(BaseModel):
    id: str = Field(description="Agent id, or the client's contact_id / client_id")
    channels: list[NotifyChannel] = Field(
        default_factory=lambda: [NotifyChannel.email, NotifyChannel.in_app],
        description="Push channels wanted; the in-app feed is always written (off-shift staff read it later)")
    quiet_hours: QuietHours | None = Field(None, description="E-mail and SMS wait until the quiet hours end")
    language: str | None = Field(None, description="ru / en; overrides the agent's or detected language")
    email: str | None = Field(None, description="Overrides the directory e-mail address")
    phone: str | None = Field(None, description="Overrides the directory phone (E.164)")


PREFERENCES = register("notify_preferences", NotifyPreference, "dir_notify_preferences", "notify",
                       "Per-person notification channels, quiet hours and language")
