"""The one start-up check for keys: production never runs on a missing or development key.

Every service that holds a key calls :func:`require_secret` (or :func:`require_service_token`) while it builds its
app, before it connects anywhere, so a misconfigured pod fails its start with a message naming the variable
instead of serving with a key that is printed in the README. In development (the one-machine default) the
built-in development keys are allowed, but only on a loopback bind: a development key reachable from the network
is as public as no key, unless ``FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK=true`` says someone means it.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.runtime.service_auth import is_loopback
from shared.runtime.settings import CommonSettings

# Shorter keys are guessable offline from one signed link or token.
MIN_PRODUCTION_KEY_CHARS = 16
OVERRIDE = "FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK"


class StartupSecretError(RuntimeError):
    """A key the service needs is missing or unsafe for where it runs; the service must not start."""


def _plain(value: str | SecretStr | None) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""


def require_secret(settings: CommonSettings, name: str, value: str | SecretStr | None, dev_value: str | None,
                   *, required: bool = True) -> str | None:
    """Return the key to use, or raise :class:`StartupSecretError` naming ``name`` (the environment variable).

    ``dev_value`` is the built-in development default (None if there is none). With ``required=False`` a
    missing or development key in production returns None: the caller turns the feature off instead.
    """
    key = _plain(value)
    is_dev = not key or (dev_value is not None and key == dev_value)
    if settings.production:
        if is_dev:
            if not required:
                return None
            what = "is not set" if not key else "is the development default"
            raise StartupSecretError(f"{name} {what}; FRONTLINE_ENVIRONMENT=production needs a secret of its own "
                                     f"(see docs/operations.md, Secrets)")
        if len(key) < MIN_PRODUCTION_KEY_CHARS:
            raise StartupSecretError(f"{name} is shorter than {MIN_PRODUCTION_KEY_CHARS} characters; "
                                     f"production needs a random key (e.g. `openssl rand -hex 32`)")
        return key
    host = getattr(settings, "http_host", None)
    if is_dev and key and not is_loopback(host) and not settings.allow_dev_keys_on_network:
        raise StartupSecretError(f"{name} is the development default but the service binds {host}, reachable "
                                 f"from the network: set {name}, bind 127.0.0.1, or set {OVERRIDE}=true")
    return key or None


def require_service_token(settings: CommonSettings) -> str | None:
    """For services with an internal HTTP API: production needs FRONTLINE_SERVICE_TOKEN; development may run
    without one (shared.runtime.service_auth then answers loopback callers only)."""
    return require_secret(settings, "FRONTLINE_SERVICE_TOKEN", settings.service_token, None)
