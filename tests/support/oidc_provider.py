"""A small OpenID Connect provider of ours for tests: authorization code with PKCE (S256), RS256 tokens, JWKS.

It speaks the endpoints as OIDC Core and RFC 7636 define them: ``/authorize`` signs in ``login_as`` at once and
redirects back with a code, ``/token`` trades a code once, and only with the verifier of its challenge, and
``/jwks`` publishes the signing key. The access token carries the gateway's claims (role, lines, ...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Query
from fastapi.responses import JSONResponse, RedirectResponse

KID = "test-key"


@dataclass
class Provider:
    issuer: str
    audience: str  # the gateway's OIDC audience (aud of access tokens)
    client_id: str
    login_as: dict[str, Any] = field(default_factory=dict)  # claims of whoever "signs in" next
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                     key_size=2048))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def sign(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        return jwt.encode({"iss": self.issuer, "iat": now, "exp": now + 600, **claims}, self.key, algorithm="RS256",
                          headers={"kid": KID})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/authorize")
        async def authorize(response_type: str, client_id: str, redirect_uri: str, state: str, nonce: str,
                            code_challenge: str, code_challenge_method: str = Query("plain")) -> RedirectResponse:
            assert response_type == "code" and client_id == self.client_id and code_challenge_method == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"challenge": code_challenge, "redirect_uri": redirect_uri, "nonce": nonce}
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

        @app.post("/token")
        async def token(grant_type: str = Form(), code: str = Form(), redirect_uri: str = Form(),
                        client_id: str = Form(), code_verifier: str = Form("")) -> JSONResponse:
            grant = self.codes.pop(code, None)  # a code is good once
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or grant_type != "authorization_code" or client_id != self.client_id \
                    or redirect_uri != grant["redirect_uri"] or digest != grant["challenge"]:
                self.refused.append(code)
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            sub = self.login_as["sub"]
            return JSONResponse({"token_type": "Bearer", "expires_in": 600,
                                 "access_token": self.sign({**self.login_as, "aud": self.audience}),
                                 "id_token": self.sign({"sub": sub, "aud": self.client_id, "nonce": grant["nonce"],
                                                        "name": self.login_as.get("name")})})

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

        return app
