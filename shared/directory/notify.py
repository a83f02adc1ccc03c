"""Notify directories: per-person notification preferences and admins' template overrides.

Owned by notify. The key is the person's id: an agent id for staff, the client's
``contact_id`` (or ``client_id`` when there is no contact) for clients.
"""

from __future__ import annotations

from enum import StrEnum

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "ann", "channels": ["email", "sms", "in_app"],
        "quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Europe/Moscow"},
        "language": "ru", "phone": "+79161234567"}]})

    id: str = Field(description="Agent id, or the client's contact_id / client_id")
    channels: list[NotifyChannel] = Field(
        default_factory=lambda: [NotifyChannel.email, NotifyChannel.in_app],
        description="Push channels wanted; the in-app feed is always written (off-shift staff read it later)")
    quiet_hours: QuietHours | None = Field(None, description="E-mail and SMS wait until the quiet hours end")
    language: str | None = Field(None, description="ru / en; overrides the agent's or detected language")
    email: str | None = Field(None, description="Overrides the directory e-mail address")
    phone: str | None = Field(None, description="Overrides the directory phone (E.164)")


PREFERENCES = register("notify-preferences", NotifyPreference, "dir_notify_preferences", "notify",
                       "Per-person notification channels, quiet hours and language")


_SYNTAX = ImmutableSandboxedEnvironment()  # parses only; rendering is notify's sandbox


class TemplateOverride(BaseModel):
    """An administrator's wording for one shipped template in one language; Jinja2 like the shipped files.

    ``text`` is plain text (the mail's text part, SMS, chat, in-app); the HTML part is derived from it
    with autoescape unless ``html`` is given. Variables are those of the shipped template's preview.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "ru.survey", "subject": "[#{{ number }}] Как мы справились с вашим обращением?",
        "text": ("Здравствуйте{% if client_name %}, {{ client_name }}{% endif %}!\n\n"
                 "Обращение №{{ number }} решено{% if solution %}: {{ solution }}{% endif %}.\n"
                 "Пожалуйста, оцените нашу работу:\n"
                 "Хорошо: {{ links.good }}\nПлохо: {{ links.bad }}\nЯ не обращался: {{ links.not_mine }}")}]})

    id: str = Field(pattern=r"^(ru|en)\.[a-z][a-z0-9_]{0,63}$", description="<language>.<template>, e.g. en.survey")
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    html: str | None = Field(None, max_length=50_000, description="Full HTML body; omit to derive it from text")

    @field_validator("subject", "text", "html")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _SYNTAX.parse(value)
            except TemplateSyntaxError as exc:
                raise ValueError(f"not a valid Jinja2 template: {exc.message} (line {exc.lineno})") from exc
        return value



def template_key(name: str, language: str) -> str:
    """The directory key of ``name`` in ``language`` (a dot, not a slash: keys travel in URL paths)."""
    return f"{language}.{name}"


TEMPLATES = register("templates", TemplateOverride, "dir_templates", "notify",
                     "Administrators' wording of notification templates, per language (overrides the shipped files)")
