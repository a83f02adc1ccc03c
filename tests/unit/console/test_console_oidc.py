"""OIDC sign-in pieces: PKCE S256, state bound to its cookie, single use, the verifier and nonce sent and checked."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet

from services.console import oidc
from services.console.settings import ConsoleSettings

S = ConsoleSettings(oidc_issuer="https://idp.example", oidc_authorize_url="https://idp.example/authorize",
                    oidc_token_url="https://idp.example/token", oidc_client_id="console",
                    public_url="https://desk.example")
F = Fernet(Fernet.generate_key())


def test_the_authorization_request_carries_an_s256_challenge_state_and_nonce() -> None:
    url, cookie = oidc.start(S, F, "/queues/mine")
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    pending = json.loads(F.decrypt(cookie.encode()))
    assert q["code_challenge_method"] == "S256" and q["code_challenge"] == oidc.challenge(pending["verifier"])
    assert pending["verifier"] not in url and q["state"] == pending["state"] and q["nonce"] == pending["nonce"]
    assert q["redirect_uri"] == "https://desk.example/auth/callback" and q["response_type"] == "code"
    assert oidc.resume(F, cookie, q["state"]).next_url == "/queues/mine"


def test_a_wrong_missing_or_foreign_state_is_refused() -> None:
    _, cookie = oidc.start(S, F, "/")
    _, other = oidc.start(S, F, "/")
    state = json.loads(F.decrypt(cookie.encode()))["state"]
    for c, s in ((cookie, "forged"), (cookie, None), (None, state), (other, state),
                 (Fernet(Fernet.generate_key()).encrypt(F.decrypt(cookie.encode())).decode(), state)):
        with pytest.raises(oidc.OidcError) as err:
            oidc.resume(F, c, s)
        assert err.value.reason == "signin.bad_state"


async def test_the_code_goes_with_its_verifier_and_the_id_token_must_carry_the_nonce() -> None:
    _, cookie = oidc.start(S, F, "/")
    pending = oidc.resume(F, cookie, json.loads(F.decrypt(cookie.encode()))["state"])
    sent: list[dict[str, list[str]]] = []

    def token_endpoint(nonce: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            sent.append(parse_qs(request.content.decode()))
            id_token = jwt.encode({"iss": "https://idp.example", "aud": "console", "nonce": nonce}, "k" * 32)
            return httpx.Response(200, json={"access_token": "AT", "id_token": id_token})
        return httpx.MockTransport(handle)

    async with httpx.AsyncClient(transport=token_endpoint(pending.nonce)) as http:
        assert await oidc.exchange(S, http, "the-code", pending) == "AT"
    assert sent[0]["code_verifier"] == [pending.verifier] and sent[0]["grant_type"] == ["authorization_code"]
    async with httpx.AsyncClient(transport=token_endpoint("another-nonce")) as http:
        with pytest.raises(oidc.OidcError, match="nonce"):
            await oidc.exchange(S, http, "the-code", pending)
