"""OIDC signing keys fetched from a JWKS URL and cached, refreshed when an unknown key id shows up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt


class JwksError(Exception):
    pass


class JwksCache:
    """Keys by ``kid``. A document may be injected (tests, air-gapped set-ups) instead of a URL.

    Refetching is rate-limited (``min_refresh``) so a flood of tokens with made-up key ids
    cannot turn into a flood of requests to the identity provider.
    """

    def __init__(self, url: str | None = None, *, document: dict[str, Any] | None = None,
                 ttl: float = 300.0, min_refresh: float = 30.0, timeout: float = 5.0) -> None:
        self.url, self.ttl, self.min_refresh, self.timeout = url, ttl, min_refresh, timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0
        if document is not None:
            self.load(document)
            self._fetched_at = float("inf") if url is None else time.monotonic()

    def load(self, document: dict[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for raw in document.get("keys", []):
            if raw.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(raw)
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                continue  # a key type we do not support must not hide the others
            keys[str(raw.get("kid", ""))] = key
        self._keys = keys

    async def _refresh(self) -> None:
        if self.url is None:
            return
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            resp = await client.get(self.url)
        if resp.status_code != 200:
            raise JwksError(f"JWKS endpoint answered {resp.status_code}")
        self.fetches += 1
        self.load(resp.json())
        self._fetched_at = time.monotonic()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        kid = kid or ""
        now = time.monotonic()
        expired = now - self._fetched_at > self.ttl
        unknown = kid not in self._keys and now - self._fetched_at > self.min_refresh
        if expired or unknown:
            async with self._lock:
                if time.monotonic() - self._fetched_at > min(self.ttl, self.min_refresh if unknown else self.ttl):
                    try:
                        await self._refresh()
                    except (httpx.HTTPError, ValueError, JwksError) as exc:
                        if not self._keys:
                            raise JwksError(f"cannot fetch signing keys: {exc}") from exc
        if kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise JwksError(f"unknown signing key {kid!r}")
