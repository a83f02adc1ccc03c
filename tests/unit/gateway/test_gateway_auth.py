"""Tokens: our HS256 tokens, expiry by the injected clock, OIDC keys from an injected JWKS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.gateway.access.auth import Authenticator, AuthError, api_key_principal, cli, mint_token
from services.gateway.access.jwks import JwksCache
from services.gateway.access.principal import UserRole
from services.gateway.api.admin.directories import parse_if_match
from services.gateway.settings import GatewaySettings
from shared.runtime.clock import ManualClock
from shared.runtime.problems import ProblemError

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _settings(**kw: object) -> GatewaySettings:
    return GatewaySettings.model_validate({"jwt_secret": "s" * 40, "oidc_issuer": "https://idp", **kw})


def _jwks() -> dict[str, object]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return {"keys": [{**jwk, "kid": "ec1", "use": "sig"}, {"kty": "weird", "kid": "bad"}]}


async def test_our_token_round_trip_and_expiry_by_clock() -> None:
    clock = ManualClock(T0)
    s = _settings()
    auth = Authenticator(s, clock)
    token = mint_token(s, "ann", UserRole.specialist, clock=clock, teams=["A"], ttl_seconds=600)
    p = await auth.verify(token)
    assert (p.user_id, p.role, p.team_ids, p.via) == ("ann", UserRole.specialist, ["A"], "jwt")
    clock.advance(timedelta(seconds=600 + s.clock_skew_seconds + 1))
    with pytest.raises(AuthError, match="expired"):
        await auth.verify(token)
    with pytest.raises(AuthError):
        await Authenticator(_settings(jwt_secret="x" * 40), ManualClock(T0)).verify(
            mint_token(s, "ann", "specialist", clock=ManualClock(T0)))


async def test_oidc_token_with_injected_jwks() -> None:
    clock = ManualClock(T0)
    auth = Authenticator(_settings(), clock, JwksCache(document=_jwks()))
    now = int(T0.timestamp())
    token = jwt.encode({"sub": "lea", "roles": ["team_lead"], "iss": "https://idp", "iat": now,
                        "exp": now + 60}, EC_KEY,
                       algorithm="ES256", headers={"kid": "ec1"})
    p = await auth.verify(token)
    assert p.role == UserRole.team_lead and p.via == "oidc"
    wrong_issuer = jwt.encode({"sub": "lea", "roles": ["team_lead"], "iss": "https://evil", "iat": now,
                               "exp": now + 60},
                              EC_KEY, algorithm="ES256", headers={"kid": "ec1"})
    with pytest.raises(AuthError):
        await auth.verify(wrong_issuer)
    with pytest.raises(AuthError, match="not accepted"):
        await Authenticator(_settings(), clock).verify(token)  # no JWKS configured
    none_alg = jwt.encode({"sub": "x", "role": "administrator", "exp": now + 60}, None, algorithm="none")
    with pytest.raises(AuthError, match="unsupported"):
        await auth.verify(none_alg)


def test_api_key_principal_respects_revocation_and_expiry() -> None:
    doc = {"name": "crm", "role": "administrator", "expires_at": T0 + timedelta(days=1)}
    p = api_key_principal(doc, T0)
    assert p is not None and p.user_id == "system:crm" and p.via == "api_key"
    assert api_key_principal({**doc, "revoked": True}, T0) is None
    assert api_key_principal(doc, T0 + timedelta(days=2)) is None


def test_if_match() -> None:
    assert parse_if_match(None) == 0
    assert parse_if_match("*") is None
    assert parse_if_match('"3"') == 3 and parse_if_match('W/"4"') == 4
    with pytest.raises(ProblemError):
        parse_if_match("abc")


def test_cli_prints_a_verifiable_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--user", "ann", "--role", "specialist", "--teams", "A", "B"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, GatewaySettings().jwt_secret, algorithms=["HS256"], issuer="frontline")
    assert claims["sub"] == "ann" and claims["teams"] == ["A", "B"]


async def test_tokens_longer_lived_than_the_maximum_or_without_iat_are_refused() -> None:
    clock = ManualClock(T0)
    s = _settings(max_token_lifetime_seconds=3600, token_ttl_seconds=600)
    auth = Authenticator(s, clock, JwksCache(document=_jwks()))
    now = int(T0.timestamp())
    ours = {"sub": "ann", "role": "specialist", "iss": "frontline"}
    assert (await auth.verify(jwt.encode({**ours, "iat": now, "exp": now + 3600}, s.jwt_secret))).user_id == "ann"
    for claims, why in (({**ours, "iat": now, "exp": now + 3601}, "lifetime"),
                        ({**ours, "exp": now + 60}, "iat"),
                        ({**ours, "iat": "yesterday", "exp": now + 60}, "iat"),
                        ({**ours, "iat": now + 7200, "exp": now + 7300}, "future")):
        with pytest.raises(AuthError, match=why):
            await auth.verify(jwt.encode(claims, s.jwt_secret))
    oidc = {"sub": "lea", "roles": ["team_lead"], "iss": "https://idp"}
    assert (await auth.verify(jwt.encode({**oidc, "iat": now, "exp": now + 60}, EC_KEY, algorithm="ES256",
                                         headers={"kid": "ec1"}))).user_id == "lea"
    with pytest.raises(AuthError, match="lifetime"):
        await auth.verify(jwt.encode({**oidc, "iat": now, "exp": now + 10 * 3600}, EC_KEY, algorithm="ES256",
                                     headers={"kid": "ec1"}))


async def test_minted_tokens_fit_the_maximum_and_the_cli_refuses_longer_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    s = GatewaySettings()
    assert s.token_ttl_seconds <= s.max_token_lifetime_seconds
    clock = ManualClock(T0)
    assert (await Authenticator(s, clock).verify(mint_token(s, "ann", "specialist", clock=clock))).user_id == "ann"
    with pytest.raises(SystemExit):
        cli(["--user", "ann", "--role", "specialist", "--ttl", str(s.max_token_lifetime_seconds + 1)])
    assert "at most" in capsys.readouterr().err
    with pytest.raises(ValueError, match="would mint tokens the gateway refuses"):
        GatewaySettings(token_ttl_seconds=s.max_token_lifetime_seconds + 1)
