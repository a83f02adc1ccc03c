from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.mailstore import DEFAULT_DIR, Channel
from shared.runtime.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    http_port: int = 8005
    default_language: str = Field("ru", description="ru or en, for people whose language is not known")
    console_url: str | None = None  # e.g. https://desk.example: staff notices link to {console_url}/tickets/{id}
    portal_url: str | None = Field(None, description="The client portal's public URL (the console's): an SMS or chat "
                                   "reply names each file with {portal_url}/portal/tickets/{id}; unset: console_url")
    mail_attachments_max_bytes: int = Field(
        25_000_000, gt=0, description="Most bytes of files one mail may carry (read into memory to send); a reply "
        "with more fails, and its author is told")
    directory_cache_seconds: float = Field(
        5.0, description="How stale staff, preference and template directories may be")

    # A channel without a provider (missing_providers) sends nothing off this machine: development keeps its
    # messages in sink_dir, the local mail catcher's store, which lists them; production is not ready.
    channels: list[Channel] = Field(
        ["email", "sms", "chat"], description="Channels this desk sends on (JSON list). A channel left out needs no "
        "provider; its notifications fail at once, and the author of a reply is told")
    sink_dir: str = Field(str(DEFAULT_DIR), description="Development: where e-mail, SMS and chat without a provider "
                                                    "are kept (the mail catcher lists them)")

    # E-mail (SMTP submission)
    smtp_host: str | None = Field(None, description="SMTP submission server; unset: no e-mail provider")
    smtp_port: int = Field(587, description="SMTP port (587 submission with STARTTLS, 465 implicit TLS)")
    smtp_username: str | None = Field(None, description="SMTP login; unset: no authentication")
    smtp_password: str | None = Field(None, description="SMTP password")
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_starttls: bool | None = None  # None: upgrade when the server offers it
    smtp_validate_certs: bool = Field(True, description="Check the SMTP server's certificate")
    smtp_timeout: float = Field(30.0, description="SMTP connection and command timeout, seconds")
    mail_from: str = Field("Frontline Support <support@frontline.local>", description="From header of every mail")
    mail_reply_to: str | None = Field(None, description="Reply-To header; unset: replies go to mail_from")

    # SMS: Twilio Programmable Messaging API
    sms_api_url: str = Field("https://api.twilio.com", description="Twilio-compatible Messages API base URL")
    sms_account_sid: str = Field("", description="Twilio account SID; unset: no SMS provider")
    sms_auth_token: str = Field("", description="Twilio auth token; also checks the status webhook's signature")
    sms_from: str | None = Field(None, description="Sender number (or use a messaging service SID)")
    sms_messaging_service_sid: str | None = Field(None, description="Twilio messaging service that picks the sender")
    sms_status_callback_url: str | None = None  # public URL of POST /api/v1/sms/status
    sms_default_region: str = Field("RU", description="Region for phone numbers written without a country code")
    sms_max_segments: int = Field(6, description="Longer texts are cut to this many SMS segments")
    sms_timeout: float = Field(10.0, description="SMS API timeout, seconds")

    # Chat platform webhook, e.g. https://chat.example/webhooks/conversations/{conversation_id}/messages
    chat_webhook_url: str | None = Field(None, description="Chat platform webhook, {conversation_id} substituted; "
                                                          "unset: no chat provider")
    chat_token: str | None = Field(None, description="Bearer token for the chat platform webhook")
    chat_timeout: float = Field(10.0, description="Chat webhook timeout, seconds")

    # Delivery workers and retries
    email_concurrency: int = Field(8, description="Mails sent at once")
    sms_concurrency: int = Field(8, description="SMS sent at once")
    chat_concurrency: int = Field(8, description="Chat posts sent at once")
    poll_interval: float = Field(0.25, description="How often due deliveries are looked for, seconds")
    lease_seconds: float = 120.0  # a claimed delivery whose worker died is retried after this
    retry_base_seconds: float = Field(2.0, description="First retry delay of a failed delivery; doubles per attempt")
    retry_cap_seconds: float = Field(600.0, description="Longest delay between retries")
    max_attempts: int = Field(10, description="Attempts before a delivery is marked failed (and its author told)")

    def _env(self, field: str) -> str:
        return f"{self.model_config.get('env_prefix', '')}{field}".upper()

    @property
    def portal_base(self) -> str | None:
        return self.portal_url or self.console_url

    @property
    def channels_off(self) -> list[Channel]:
        return [c for c in ("email", "sms", "chat") if c not in self.channels]

    def missing_providers(self) -> dict[Channel, list[str]]:
        """Per channel without a provider, the settings (env names) it lacks; empty when every channel has one."""
        sms_sender = self.sms_from or self.sms_messaging_service_sid
        missing: dict[Channel, list[str]] = {
            "email": [] if self.smtp_host else [self._env("smtp_host")],
            "sms": [self._env(f) for f in ("sms_account_sid", "sms_auth_token") if not getattr(self, f)]
            + ([] if sms_sender else [f"{self._env('sms_from')} or {self._env('sms_messaging_service_sid')}"]),
            "chat": [] if self.chat_webhook_url else [self._env("chat_webhook_url")],
        }
        return {channel: names for channel, names in missing.items() if names and channel in self.channels}
