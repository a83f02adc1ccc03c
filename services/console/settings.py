from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import DEV_JWT_SECRET, ServiceSettings

# Development only: the session key derives from this when CONSOLE_SESSION_SECRET is unset (production refuses).
DEV_SESSION_SEED = "frontline-console-development-session-key"


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", populate_by_name=True)

    http_port: int = 8007
    gateway_url: str = Field("http://127.0.0.1:8000", description="The gateway's base URL (its public API)")
    public_url: str = Field("http://127.0.0.1:8007",
                            description="The console's own external URL (OIDC redirects, magic links)")
    session_secret: SecretStr | None = Field(
        None, description="Encrypts the session cookie; required in production (any long random string)")
    session_ttl_seconds: int = Field(8 * 3600, gt=0, description="A sign-in lasts this long")
    dev_sign_in: bool = Field(False, description="The development sign-in page (pick a seeded person); "
                                                 "`make up` turns it on; production refuses to start with it")
    dev_jwt_secret: str = Field(DEV_JWT_SECRET, description="The HS256 key the development sign-in mints gateway "
                                                            "tokens with (the gateway's development key)")
    gateway_timeout_seconds: float = Field(10.0, gt=0, description="How long a call to the gateway may take")
    # OIDC authorization-code flow with PKCE (production sign-in)
    oidc_issuer: str | None = Field(None, description="The OIDC provider's issuer")
    oidc_authorize_url: str | None = Field(None, description="The provider's authorization endpoint")
    oidc_token_url: str | None = Field(None, description="The provider's token endpoint")
    oidc_client_id: str | None = Field(None, description="The console's client id at the provider")
    oidc_client_secret: SecretStr | None = Field(None, description="Its client secret (unset: a public client)")
    oidc_scopes: str = Field("openid profile email", description="Scopes asked for at sign-in")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_authorize_url and self.oidc_token_url and self.oidc_client_id)
