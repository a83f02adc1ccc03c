"""Attack: deploy without the Secret and mint an administrator token with the README's development key.

A production pod whose Secret is missing must not start at all: each service is run here as a real process with
FRONTLINE_ENVIRONMENT=production and no key, and must exit non-zero naming the variable. The control run, with
a key of its own and the same servers, becomes ready, so the exit is the key check and nothing else.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from shared.contracts.command_owners import COMMAND_PRODUCERS
from shared.runtime.command_auth import OWN_KEY_VARIABLE
from tools.processes import ServiceProcess

# Every key a service needs in production. The "missing" run gives all but one, so only that one can stop it.
OWN_KEYS = {"gateway": ("GATEWAY_JWT_SECRET", "GATEWAY_CURSOR_SECRET"), "feedback": ("FEEDBACK_HMAC_KEY",)}
PRODUCTION_KEYS = {svc: (*keys, *((OWN_KEY_VARIABLE,) if svc in COMMAND_PRODUCERS else ()))
                   for svc, keys in OWN_KEYS.items()}
MISSING = [(service, key) for service, keys in PRODUCTION_KEYS.items() for key in keys]
EXIT_TIMEOUT = 120  # seconds; a cold interpreter importing FastAPI on a loaded 2-core machine


def _production(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                missing: str | None = None) -> dict[str, str]:
    """A production pod whose Secret lacks ``missing``: that variable is absent (the process inherits
    os.environ), every other key of the service has a random value of its own."""
    for name in (*PRODUCTION_KEYS[service], "GATEWAY_JWKS_URL", "FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK"):
        monkeypatch.delenv(name, raising=False)
    keys = {key: secrets.token_hex(32) for key in PRODUCTION_KEYS[service] if key != missing}
    return {**env, **keys, "FRONTLINE_ENVIRONMENT": "production"}


@pytest.mark.parametrize(("service", "key"), MISSING)
def test_production_without_a_key_exits_naming_the_variable(service: str, key: str, env: dict[str, str],
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = ServiceProcess(service, _production(service, env, monkeypatch, missing=key), tmp_path).start()
    try:
        assert proc.proc is not None
        code = proc.proc.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{service} kept running in production without {key}")
    log = (tmp_path / f"{service}.log").read_text(errors="replace")
    assert code != 0, log
    assert key in log and "production" in log, log


@pytest.mark.parametrize("service", list(PRODUCTION_KEYS))
def test_production_with_keys_of_its_own_starts(service: str, env: dict[str, str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    proc = ServiceProcess(service, _production(service, env, monkeypatch), tmp_path).start()
    try:
        proc.wait_ready(timeout=EXIT_TIMEOUT)
    finally:
        proc.stop()


async def test_oidc_only_production_gateway_refuses_tokens_signed_with_the_readme_key() -> None:
    """GATEWAY_JWKS_URL without GATEWAY_JWT_SECRET starts (OIDC only), but the README's key mints nothing."""
    from services.gateway.access.auth import AuthError, mint_token
    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    keys = {"cursor_secret": secrets.token_hex(32), "command_key": secrets.token_hex(32)}
    settings = GatewaySettings(environment="production", jwks_url="https://idp.example/jwks", **keys)
    forged = mint_token(settings, "mallory", "administrator")  # signed with the development default
    with pytest.raises(AuthError, match="invalid token"):
        await create_app(settings).state.ctx.auth.verify(forged)
    with pytest.raises(Exception, match="GATEWAY_JWT_SECRET"):
        create_app(GatewaySettings(environment="production", **keys))  # no JWKS either: refuses to start
