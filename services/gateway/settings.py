from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.runtime.clamd import ScanSettings
from shared.runtime.file_types import OFFICE_TYPES
from shared.runtime.settings import DEV_JWT_SECRET, ServiceSettings

DEFAULT_ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
                            *OFFICE_TYPES.values())


class GatewaySettings(ServiceSettings, ScanSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    http_port: int = 8000
    max_page_size: int = Field(200, description="Largest page any list returns")
    # Signs list cursors (services/gateway/cursors.py). Required in production; in development, when unset, it is
    # derived from the JWT key.
    cursor_secret: SecretStr | None = None
    # Larger request bodies get 413 before they are read (the largest legitimate one: a directory entry).
    max_body_bytes: int = 2_000_000
    # Authentication
    jwt_secret: str = Field(
        DEV_JWT_SECRET, description="HS256 key of the gateway's own tokens (`frontline token`); required in production")
    jwt_issuer: str = Field("frontline", description="iss of the tokens the gateway mints and accepts")
    jwt_audience: str | None = Field(None, description="aud the gateway's own tokens must carry; unset: none")
    token_ttl_seconds: int = Field(12 * 3600, gt=0, description="Lifetime of tokens `frontline token` mints")
    # Any bearer token (ours or OIDC) must carry iat, and exp - iat may not exceed this: a leaked token dies soon.
    max_token_lifetime_seconds: int = Field(24 * 3600, gt=0)
    jwks_url: str | None = Field(None, description="An OIDC provider's JWKS: its RS256/ES256 tokens are accepted")
    oidc_issuer: str | None = Field(None, description="iss an OIDC token must carry")
    oidc_audience: str | None = Field(None, description="aud an OIDC token must carry")
    jwks_cache_seconds: int = Field(300, description="How long fetched JWKS keys are kept")
    jwks_min_refresh_seconds: float = Field(30.0, description="An unknown key id refetches the JWKS at most this often")
    clock_skew_seconds: int = Field(60, description="Leeway for a token's exp, nbf and iat against our clock")
    directory_cache_seconds: float = Field(
        2.0, ge=0, le=30, description="How long a staff member's directory entries (agent, teams) are kept per "
        "process: a removed agent or team membership stops widening his scope at most this much later")
    # Actions: how long an HTTP call waits for the ledger's answer before returning 202.
    action_wait_seconds: float = 5.0
    noop_probe_after_seconds: float = Field(
        1.0, gt=0, description="When an action first asks the ledger's record whether its command was a no-op "
        "(already done, so no event comes); then ever less often")
    bulk_max_tickets: int = Field(100, description="Most tickets one bulk action may name")
    # Files people attach to replies, notes and portal messages (api/attachments.py)
    attachment_max_bytes: int = Field(10_000_000, gt=0, description="Largest file one upload may carry")
    attachment_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ATTACHMENT_TYPES),
        description="Kinds of file accepted (JSON list), each proved by the bytes, never by the name: "
                    "image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain (any UTF-8 text), "
                    "the Office formats docx/xlsx/pptx (by their media types); application/zip may be added")
    # Queues
    time_limit_window_minutes: int = Field(
        120, description="The time_limit queue shows client deadlines this far ahead")
    # Notify's internal API (people's in-app feed, template previews); called with FRONTLINE_SERVICE_TOKEN.
    notify_url: str = Field("http://127.0.0.1:8005", description="Notify's internal HTTP API")
    notify_timeout_seconds: float = Field(5.0, gt=0, description="How long a call to notify may take")
    # The search service's internal API (GET /api/v1/search); called with FRONTLINE_SERVICE_TOKEN.
    search_url: str = Field("http://127.0.0.1:8009", description="The search service's internal HTTP API")
    search_timeout_seconds: float = Field(5.0, gt=0, description="How long a call to the search service may take")
    # The knowledge service's internal API (articles, news, suggestions); called with FRONTLINE_SERVICE_TOKEN.
    knowledge_url: str = Field("http://127.0.0.1:8010", description="The knowledge service's internal HTTP API")
    knowledge_timeout_seconds: float = Field(5.0, gt=0, description="How long a call to the knowledge service may "
                                             "take")
    # Client portal sign-in by e-mailed link (api/portal_sign_in.py)
    portal_url: str = Field("http://127.0.0.1:8007", description="The console's public URL: sign-in links point "
                            "to {portal_url}/portal/link?token=…")
    sign_in_link_ttl_seconds: int = Field(15 * 60, gt=0, le=3600, description="How long a sign-in link works (at "
                                          "most the hour portal.events keeps it)")
    sign_in_links_per_address: int = Field(5, gt=0, description="Sign-in links one address may ask for per hour")
    sign_in_links_per_ip: int = Field(20, gt=0, description="Sign-in links one caller (IP) may ask for per hour")
    portal_token_ttl_seconds: int = Field(8 * 3600, gt=0, description="Lifetime of the token a sign-in link yields "
                                          "(at most GATEWAY_MAX_TOKEN_LIFETIME_SECONDS)")
    trusted_proxies: list[str] = Field(default_factory=list, description="Proxies (CIDRs, JSON list) whose "
                                       "X-Forwarded-For names the caller, for the per-caller limit")
    # Live updates
    sse_heartbeat_seconds: float = Field(
        15.0, description="Live updates: a comment line this often keeps proxies from closing the stream")
    sse_max_seconds: int = Field(
        3600, description="Live updates: a stream is closed after this long (the client reconnects)")
    sse_buffer: int = Field(1000, description="Live updates: events buffered per slow client before it is dropped")

    @model_validator(mode="after")
    def _minted_tokens_are_accepted(self) -> Self:
        if self.token_ttl_seconds > self.max_token_lifetime_seconds:
            raise ValueError("GATEWAY_TOKEN_TTL_SECONDS exceeds GATEWAY_MAX_TOKEN_LIFETIME_SECONDS: "
                             "`frontline token` would mint tokens the gateway refuses")
        return self
