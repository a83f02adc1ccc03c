from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


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


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", populate_by_name=True)

    http_port: int = 8001
    max_body_bytes: int = 2_000_000
    max_attachment_bytes: int = 10_000_000
    # Which active ticket a new message joins: the conversation's, the contact's (default) or the contract's.
    ticket_rule: Literal["conversation", "contact", "contract"] = "contact"
    default_region: str = Field("RU", description="Region for phone numbers written without a country code")
    # Must match the ledger's reopen window: a reply to a ticket closed longer ago opens a new one.
    reopen_window_seconds: float = 300.0
    directory_cache_seconds: float = 5.0
    # IVR digit → requested line (technical / plain / not_technical).
    ivr_lines: dict[str, str] = Field(default_factory=lambda: {"1": "technical", "2": "plain", "3": "not_technical"})
    mailboxes: list[Mailbox] = Field(default_factory=list)
    imap_poll_seconds: float = 30.0
    imap_timeout_seconds: float = 30.0
