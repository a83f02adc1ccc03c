"""The doors' credential checks, pure: API keys, HMAC signatures with a timestamp, the client's address."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from shared.runtime.peers import client_address as client_address  # the doors' caller, behind trusted proxies


class BadCredentials(Exception):
    """The request's credentials are missing, malformed or wrong; the message says which, never the secret."""


def api_key_owner(keys: Mapping[str, SecretStr], given: str) -> str:
    """The name of the system whose key this is; every key is compared, each in constant time."""
    found = None
    for name, key in keys.items():
        if hmac.compare_digest(given.encode(), key.get_secret_value().encode()):
            found = name
    if found is None:
        raise BadCredentials("this door needs a valid X-API-Key")
    return found


def signature_owner(secrets: Mapping[str, SecretStr], stamp: str, signature: str, body: bytes, *, now: float,
                    tolerance: float) -> str:
    """The integration whose secret signed ``<stamp>.<body>`` (``signature`` is ``sha256=<hex>``)."""
    scheme, _, given = signature.partition("=")
    if scheme != "sha256" or not stamp.isdigit() or len(stamp) > 12:
        raise BadCredentials("sign the request: X-Frontline-Timestamp and X-Frontline-Signature: sha256=<hex>")
    if abs(now - int(stamp)) > tolerance:
        raise BadCredentials("the signature's timestamp is outside the allowed window")
    signed = stamp.encode() + b"." + body
    found = None
    for name, secret in secrets.items():
        expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
            found = name
    if found is None:
        raise BadCredentials("the signature does not match")
    return found
