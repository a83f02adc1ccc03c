from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# Development signing key: `frontline token` and a fresh `make up` share it. Production sets GATEWAY_JWT_SECRET
# (or only trusts OIDC tokens through GATEWAY_JWKS_URL).
DEV_JWT_SECRET = "frontline-development-signing-key-change-me-in-production"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    http_port: int = 8000
    max_page_size: int = 200
    # Signs list cursors (services/gateway/cursors.py). Required in production; in development, when unset, it is
    # derived from the JWT key.
    cursor_secret: SecretStr | None = None
    # Larger request bodies get 413 before they are read (the largest legitimate one: a directory entry).
    max_body_bytes: int = 2_000_000
    # Authentication
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "frontline"
    jwt_audience: str | None = None
    token_ttl_seconds: int = Field(12 * 3600, gt=0)
    # Any bearer token (ours or OIDC) must carry iat, and exp - iat may not exceed this: a leaked token dies soon.
    max_token_lifetime_seconds: int = Field(24 * 3600, gt=0)
    jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    jwks_cache_seconds: int = 300
    jwks_min_refresh_seconds: float = 30.0
    clock_skew_seconds: int = 60
    # Actions: how long an HTTP call waits for the ledger's answer before returning 202.
    action_wait_seconds: float = 5.0
    bulk_max_tickets: int = 100
    # Queues
    time_limit_window_minutes: int = 120
    # Live updates
    sse_heartbeat_seconds: float = 15.0
    sse_max_seconds: int = 3600
    sse_buffer: int = 1000

    @model_validator(mode="after")
    def _minted_tokens_are_accepted(self) -> Self:
        if self.token_ttl_seconds > self.max_token_lifetime_seconds:
            raise ValueError("GATEWAY_TOKEN_TTL_SECONDS exceeds GATEWAY_MAX_TOKEN_LIFETIME_SECONDS: "
                             "`frontline token` would mint tokens the gateway refuses")
        return self
