"""The gateway's own bearer tokens (HS256): their claim layout, in one place.

The gateway accepts them, ``frontline token`` and the demo mint them, and the console's development sign-in mints
them for the person picked. Whoever mints passes something that carries the signing key, issuer, audience and
default lifetime (the gateway's settings, or :class:`TokenSigner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from shared.runtime.clock import Clock, SystemClock


class Signer(Protocol):
    @property
    def jwt_secret(self) -> str: ...
    @property
    def jwt_issuer(self) -> str: ...
    @property
    def jwt_audience(self) -> str | None: ...
    @property
    def token_ttl_seconds(self) -> int: ...


@dataclass(frozen=True)
class TokenSigner:
    jwt_secret: str
    jwt_issuer: str = "frontline"
    jwt_audience: str | None = None
    token_ttl_seconds: int = 12 * 3600


def mint_token(signer: Signer, user: str, role: str, *, clock: Clock | None = None,
               lines: Sequence[str] = (), groups: Sequence[str] = (), teams: Sequence[str] = (),
               client_id: str | None = None, name: str | None = None, ttl_seconds: int | None = None,
               extra: dict[str, Any] | None = None) -> str:
    """A signed HS256 token with our claim layout (dev CLI, dev sign-in, tests, trusted internal issuers)."""
    now = int((clock or SystemClock()).now().timestamp())
    claims: dict[str, Any] = {"sub": user, "role": str(role), "iss": signer.jwt_issuer, "iat": now,
                              "exp": now + (ttl_seconds or signer.token_ttl_seconds)}
    if signer.jwt_audience:
        claims["aud"] = signer.jwt_audience
    for key, value in (("lines", list(lines)), ("groups", list(groups)), ("teams", list(teams))):
        if value:
            claims[key] = value
    if client_id:
        claims["client_id"] = client_id
    if name:
        claims["name"] = name
    claims.update(extra or {})
    return jwt.encode(claims, signer.jwt_secret, algorithm="HS256")
