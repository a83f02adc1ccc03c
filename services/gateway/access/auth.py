"""Bearer tokens (our HS256 tokens or OIDC tokens checked against a JWKS) and API keys for systems.

Expiry is checked against the injected clock, not the wall clock, so tests and the
rest of the service agree on what "now" is.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
from datetime import datetime
from typing import Any

import jwt

from shared.contracts.tokens import mint_token  # the claim layout lives there; `frontline token` mints here
from shared.runtime.clock import Clock

from ..settings import GatewaySettings
from .jwks import JwksCache, JwksError
from .principal import Principal, UserRole, principal_from_claims

ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
API_KEY_PREFIX = "flk_"


class AuthError(Exception):
    """401: the credentials are missing, malformed, expired or not ours."""


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class Authenticator:
    def __init__(self, settings: GatewaySettings, clock: Clock, jwks: JwksCache | None = None) -> None:
        self.settings, self.clock = settings, clock
        self.jwks = jwks or (JwksCache(settings.jwks_url, ttl=settings.jwks_cache_seconds,
                                       min_refresh=settings.jwks_min_refresh_seconds) if settings.jwks_url else None)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from exc
        alg = header.get("alg")
        if alg == "HS256":
            claims = self._decode(token, self.settings.jwt_secret, alg, self.settings.jwt_issuer,
                                  self.settings.jwt_audience)
            via = "jwt"
        elif alg in ASYMMETRIC:
            if self.jwks is None:
                raise AuthError("OIDC tokens are not accepted here (no JWKS configured)")
            try:
                key = await self.jwks.key(header.get("kid"))
            except JwksError as exc:
                raise AuthError(str(exc)) from exc
            claims = self._decode(token, key.key, alg, self.settings.oidc_issuer, self.settings.oidc_audience)
            via = "oidc"
        else:
            raise AuthError(f"unsupported token algorithm {alg!r}")
        principal = principal_from_claims(claims, via)  # type: ignore[arg-type]
        if principal is None:
            raise AuthError("the token names no user or no known role")
        return principal

    def _decode(self, token: str, key: Any, alg: str, issuer: str | None, audience: str | None) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[alg], issuer=issuer, audience=audience,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "verify_aud": audience is not None, "verify_iss": issuer is not None,
                         "require": ["exp", "iat", "sub"]})
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        now = self.clock.now().timestamp()
        skew = self.settings.clock_skew_seconds
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        if not isinstance(exp, (int, float)) or now > exp + skew:
            raise AuthError("the token has expired")
        # Without iat (or with one ahead of now) a token's lifetime is unbounded, so exp alone cannot limit it.
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            raise AuthError("the token has no numeric iat (issued-at) claim")
        if iat > now + skew:
            raise AuthError("the token is issued in the future")
        if exp - iat > self.settings.max_token_lifetime_seconds:
            raise AuthError(f"the token's lifetime exceeds {self.settings.max_token_lifetime_seconds} s")
        if isinstance(nbf, (int, float)) and now + skew < nbf:
            raise AuthError("the token is not valid yet")
        return claims


def api_key_principal(doc: dict[str, Any], now: datetime) -> Principal | None:
    """An API key document (``gateway_api_keys``) as the system it was issued to; None if revoked/expired."""
    if doc.get("revoked"):
        return None
    expires = doc.get("expires_at")
    if expires is not None and expires <= now:
        return None
    return Principal(user_id=f"system:{doc['name']}", role=UserRole(doc.get("role", "specialist")),
                     name=doc["name"], line_ids=doc.get("line_ids", []), group_ids=doc.get("group_ids", []),
                     team_ids=doc.get("team_ids", []), client_id=doc.get("client_id"), via="api_key")


def cli(argv: list[str]) -> int:
    """``frontline token --user U --role R [--teams ...]``: print a signed development token."""
    parser = argparse.ArgumentParser(prog="frontline token", description="Print a signed gateway token (HS256)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--role", required=True, choices=[r.value for r in UserRole])
    parser.add_argument("--name")
    parser.add_argument("--lines", nargs="*", default=[])
    parser.add_argument("--groups", nargs="*", default=[])
    parser.add_argument("--teams", nargs="*", default=[])
    parser.add_argument("--client-id")
    parser.add_argument("--ttl", type=int, default=None, help="seconds (default GATEWAY_TOKEN_TTL_SECONDS)")
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    if args.ttl is not None and not 0 < args.ttl <= settings.max_token_lifetime_seconds:
        parser.error(f"--ttl must be at most {settings.max_token_lifetime_seconds} s (the gateway maximum)")
    token = mint_token(settings, args.user, args.role, lines=args.lines, groups=args.groups, teams=args.teams,
                       client_id=args.client_id, name=args.name, ttl_seconds=args.ttl)
    sys.stdout.write(token + "\n")
    return 0
