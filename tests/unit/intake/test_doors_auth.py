"""The doors' credential checks: which integration or system a request's signature or key belongs to."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from services.intake.doors_auth import BadCredentials, api_key_owner, signature_owner

SECRETS = {"chat": SecretStr("chat-secret-0123456789"), "bot": SecretStr("bot-secret-0123456789")}


def sign(secret: str, stamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def owner(stamp: str, signature: str, body: bytes = b"{}", now: float = 1_000_000) -> str:
    return signature_owner(SECRETS, stamp, signature, body, now=now, tolerance=300)


def test_the_signature_names_the_integration_whose_secret_made_it() -> None:
    assert owner("1000000", sign("bot-secret-0123456789", "1000000", b"{}")) == "bot"
    assert owner("1000100", sign("chat-secret-0123456789", "1000100", b"{}")) == "chat"


@pytest.mark.parametrize("stamp, signature, body", [
    ("1000000", sign("other-secret-0123456789", "1000000", b"{}"), b"{}"),  # forged
    ("1000000", sign("chat-secret-0123456789", "1000000", b"{}"), b'{"a":1}'),  # body changed
    ("1000001", sign("chat-secret-0123456789", "1000000", b"{}"), b"{}"),  # timestamp changed
    ("999000", sign("chat-secret-0123456789", "999000", b"{}"), b"{}"),  # replayed after the window
    ("1001000", sign("chat-secret-0123456789", "1001000", b"{}"), b"{}"),  # from the future
    ("1000000", sign("chat-secret-0123456789", "1000000", b"{}").replace("sha256", "sha1"), b"{}"),
    ("", sign("chat-secret-0123456789", "", b"{}"), b"{}"), ("1e6", "sha256=00", b"{}"), ("1000000", "", b"{}"),
])
def test_forged_changed_replayed_and_malformed_signatures_are_refused(stamp: str, signature: str, body: bytes) -> None:
    with pytest.raises(BadCredentials):
        owner(stamp, signature, body)


def test_api_keys_name_their_system() -> None:
    keys = {"crm": SecretStr("crm-key-0123456789"), "erp": SecretStr("erp-key-0123456789")}
    assert api_key_owner(keys, "erp-key-0123456789") == "erp"
    for wrong in ("", "erp-key-012345678", "erp-key-0123456789 ", "ERP-KEY-0123456789"):
        with pytest.raises(BadCredentials):
            api_key_owner(keys, wrong)
