"""Production sign-in: the OIDC authorization-code flow with PKCE (S256).

``state``, ``nonce`` and the code verifier wait for the callback in a short-lived encrypted cookie (single use:
the callback deletes it). The code is exchanged at the token endpoint directly over TLS, so the id_token is
checked for its nonce, issuer and audience without its signature (OIDC Core 3.1.3.7); the **access token** is
the session's token: the gateway validates it against the provider's JWKS (GATEWAY_JWKS_URL) on every call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from cryptography.fernet import Fernet, InvalidToken

from .settings import ConsoleSettings

COOKIE = "fl_oidc"
PENDING_SECONDS = 600


class OidcError(Exception):
    """The sign-in cannot go on; ``reason`` is a catalogue key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Pending:
    state: str
    nonce: str
    verifier: str
    next_url: str


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def start(settings: ConsoleSettings, fernet: Fernet, next_url: str) -> tuple[str, str]:
    """The provider's authorization URL and the sealed cookie value that the callback needs."""
    pending = Pending(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48), next_url)
    query = {"response_type": "code", "client_id": settings.oidc_client_id, "redirect_uri": redirect_uri(settings),
             "scope": settings.oidc_scopes, "state": pending.state, "nonce": pending.nonce,
             "code_challenge": challenge(pending.verifier), "code_challenge_method": "S256"}
    sep = "&" if "?" in str(settings.oidc_authorize_url) else "?"
    return f"{settings.oidc_authorize_url}{sep}{urlencode(query)}", fernet.encrypt(
        json.dumps(pending.__dict__).encode()).decode()


def redirect_uri(settings: ConsoleSettings) -> str:
    return settings.public_url.rstrip("/") + "/auth/callback"


def resume(fernet: Fernet, cookie: str | None, state: str | None) -> Pending:
    """The pending sign-in the cookie holds, if ``state`` is its own and it is recent."""
    if not cookie or not state:
        raise OidcError("signin.bad_state", "no pending sign-in")
    try:
        pending = Pending(**json.loads(fernet.decrypt(cookie.encode(), ttl=PENDING_SECONDS)))
    except (InvalidToken, ValueError, TypeError) as exc:
        raise OidcError("signin.bad_state", "unreadable or expired") from exc
    if not hmac.compare_digest(pending.state.encode(), state.encode()):
        raise OidcError("signin.bad_state", "state does not match")
    return pending


async def exchange(settings: ConsoleSettings, http: httpx.AsyncClient, code: str, pending: Pending) -> str:
    """Trade the code (with the PKCE verifier) for tokens; return the access token after checking the id_token."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(settings),
            "client_id": settings.oidc_client_id or "", "code_verifier": pending.verifier}
    if settings.oidc_client_secret:
        form["client_secret"] = settings.oidc_client_secret.get_secret_value()
    try:
        resp = await http.post(str(settings.oidc_token_url), data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OidcError("signin.provider_refused", type(exc).__name__) from exc
    if resp.status_code != 200:
        raise OidcError("signin.provider_refused", f"token endpoint answered {resp.status_code}")
    body: dict[str, Any] = resp.json()
    access, id_token = body.get("access_token"), body.get("id_token")
    if not isinstance(access, str) or not access:
        raise OidcError("signin.provider_refused", "no access token")
    if isinstance(id_token, str):
        check_id_token(settings, id_token, pending.nonce)
    return access


def check_id_token(settings: ConsoleSettings, id_token: str, nonce: str) -> None:
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OidcError("signin.provider_refused", "unreadable id_token") from exc
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise OidcError("signin.provider_refused", "nonce does not match")
    if settings.oidc_issuer and claims.get("iss") != settings.oidc_issuer:
        raise OidcError("signin.provider_refused", "issuer does not match")
    if settings.oidc_client_id not in audiences:
        raise OidcError("signin.provider_refused", "id_token is for another client")
