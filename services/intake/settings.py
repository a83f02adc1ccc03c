from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.runtime.clamd import ScanSettings
from shared.runtime.settings import ServiceSettings


class Mailbox(BaseModel):
    """One IMAP mailbox to poll (INTAKE_MAILBOXES is a JSON list of these)."""

    name: str = Field("support", description="Label for logs and metrics")
    host: str
    port: int = 993
    security: Literal["tls", "starttls", "plain"] = "tls"
    username: str
    password: str
    folder: str = "INBOX"
    move_to: str | None = Field(None, description="Move processed mail here; else it is only marked seen")
    ca_file: str | None = Field(None, description="Trust this CA (self-signed servers)")
    verify_tls: bool = True


class IntakeSettings(ServiceSettings, ScanSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", populate_by_name=True)

    http_port: int = 8001
    max_body_bytes: int = Field(2_000_000, description="Larger request bodies get 413 before they are read")
    max_attachment_bytes: int = Field(10_000_000, description="Largest attachment accepted")
    # Which active ticket a new message joins: the conversation's, the contact's (default) or the contract's.
    ticket_rule: Literal["conversation", "contact", "contract"] = "contact"
    default_region: str = Field("RU", description="Region for phone numbers written without a country code")
    # Must match the ledger's reopen window: a reply to a ticket closed longer ago opens a new one.
    reopen_window_seconds: float = 300.0
    directory_cache_seconds: float = Field(
        5.0, description="How stale the clients, contacts and classification directories may be")
    # IVR digit → requested line (technical / plain / not_technical).
    ivr_lines: dict[str, str] = Field(default_factory=lambda: {"1": "technical", "2": "plain", "3": "not_technical"})
    mailboxes: list[Mailbox] = Field(default_factory=list,
        description="IMAP mailboxes to poll (JSON list; fields below)")
    imap_poll_seconds: float = Field(30.0, description="How often each mailbox is polled")
    imap_timeout_seconds: float = Field(30.0, description="IMAP connection and command timeout")

    # The doors (services/intake/doors.py, docs/security.md). A door with none of these configured answers loopback
    # callers only in development and 503 in production.
    # Channel integration → HMAC-SHA256 secret ("form", "chat", "call", "bot"): INTAKE_WEBHOOK_SECRETS='{"chat": ...}'.
    webhook_secrets: dict[Literal["form", "chat", "call", "bot"], SecretStr] = Field(default_factory=dict)
    # Other system's name → API key for /api/v1/inbound and uploads (header X-API-Key).
    api_keys: dict[str, SecretStr] = Field(default_factory=dict)
    signature_tolerance_seconds: float = Field(300.0, gt=0, description="Signed timestamps older or newer: refused")
    # The web form open to anyone, behind a per-address token bucket and, if set, a CAPTCHA check.
    form_public: bool = False
    form_burst: int = Field(5, ge=1, description="Public form: submissions one address may send at once")
    form_rate_per_minute: float = Field(6.0, gt=0,
        description="Public form: submissions per address per minute after the burst")
    # reCAPTCHA / hCaptcha / Turnstile style: POST secret, response, remoteip; the answer's "success" decides.
    captcha_verify_url: str | None = None
    captcha_secret: SecretStr | None = Field(None, description="Secret sent to the CAPTCHA verify URL")
    # Proxies (CIDRs) whose X-Forwarded-For names the client; nobody else's is believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Messages per sender (e-mail, phone or chat id) per window, over every door; 0 turns it off.
    sender_quota: int = Field(120, ge=0)
    sender_quota_window_seconds: float = Field(3600.0, gt=0, description="Window of the per-sender message quota")
    # Attachment bytes per caller (API key, integration or client address) per window; 0 turns it off.
    upload_quota_bytes: int = Field(200_000_000, ge=0)
    upload_quota_window_seconds: float = Field(3600.0, gt=0, description="Window of the upload quota")

    @field_validator("webhook_secrets", "api_keys")
    @classmethod
    def _long_enough(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        short = sorted(name for name, key in keys.items() if len(key.get_secret_value()) < 16)
        if short:
            raise ValueError(f"keys shorter than 16 characters: {', '.join(short)}")
        return keys
