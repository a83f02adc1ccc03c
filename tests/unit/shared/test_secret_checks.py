"""The start-up check every service with a key runs: production never starts on a missing or development key,
and development keys stay on loopback unless FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK says otherwise."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.runtime.secrets import StartupSecretError, require_secret, require_service_token
from shared.runtime.settings import ServiceSettings

DEV = "frontline-development-key-change-me"


def settings(**kw: object) -> ServiceSettings:
    return ServiceSettings(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, "", DEV, SecretStr(DEV), SecretStr("")])
def test_production_without_a_real_key_fails_naming_the_variable(value: str | SecretStr | None) -> None:
    with pytest.raises(StartupSecretError) as exc:
        require_secret(settings(environment="production"), "EXAMPLE_SIGNING_KEY", value, DEV)
    assert "EXAMPLE_SIGNING_KEY" in str(exc.value)
    assert "production" in str(exc.value)


def test_production_override_does_not_admit_the_development_key() -> None:
    s = settings(environment="production", http_host="0.0.0.0", allow_dev_keys_on_network=True)
    with pytest.raises(StartupSecretError, match="EXAMPLE_SIGNING_KEY"):
        require_secret(s, "EXAMPLE_SIGNING_KEY", DEV, DEV)


def test_production_with_a_real_key_starts() -> None:
    s = settings(environment="production", http_host="0.0.0.0")
    assert require_secret(s, "EXAMPLE_SIGNING_KEY", SecretStr("x" * 32), DEV) == "x" * 32


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "desk.example"])
def test_development_key_on_a_network_bind_fails_unless_overridden(host: str) -> None:
    with pytest.raises(StartupSecretError) as exc:
        require_secret(settings(http_host=host), "EXAMPLE_SIGNING_KEY", DEV, DEV)
    assert "EXAMPLE_SIGNING_KEY" in str(exc.value) and "FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK" in str(exc.value)
    allowed = settings(http_host=host, allow_dev_keys_on_network=True)
    assert require_secret(allowed, "EXAMPLE_SIGNING_KEY", DEV, DEV) == DEV


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_development_key_on_loopback_is_fine(host: str) -> None:
    assert require_secret(settings(http_host=host), "EXAMPLE_SIGNING_KEY", DEV, DEV) == DEV


def test_development_with_a_real_key_on_the_network_is_fine() -> None:
    assert require_secret(settings(http_host="0.0.0.0"), "EXAMPLE_SIGNING_KEY", "own-key", DEV) == "own-key"


def test_optional_key_left_unset_disables_the_feature_instead_of_failing() -> None:
    """E.g. the gateway's HS256 key when only OIDC (GATEWAY_JWKS_URL) is trusted."""
    prod = settings(environment="production")
    assert require_secret(prod, "EXAMPLE_SIGNING_KEY", DEV, DEV, required=False) is None
    assert require_secret(prod, "EXAMPLE_SIGNING_KEY", None, DEV, required=False) is None
    assert require_secret(prod, "EXAMPLE_SIGNING_KEY", "k" * 32, DEV, required=False) == "k" * 32


def test_production_refuses_a_short_key() -> None:
    with pytest.raises(StartupSecretError, match="EXAMPLE_SIGNING_KEY is shorter"):
        require_secret(settings(environment="production"), "EXAMPLE_SIGNING_KEY", "short", DEV)


def test_the_override_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK", "true")
    assert settings(http_host="0.0.0.0").allow_dev_keys_on_network is True
    monkeypatch.setenv("FRONTLINE_ENVIRONMENT", "production")
    assert settings().production


def test_service_token_is_required_in_production_only() -> None:
    with pytest.raises(StartupSecretError, match="FRONTLINE_SERVICE_TOKEN"):
        require_service_token(settings(environment="production"))
    assert require_service_token(settings(environment="production", service_token="t" * 32)) == "t" * 32
    # Development without a token is the loopback-only mode of shared.runtime.service_auth, on any bind.
    assert require_service_token(settings(http_host="0.0.0.0")) is None
