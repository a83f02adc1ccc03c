"""API docs work on a machine without internet: /docs and /redoc name only assets the service itself serves."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from shared.runtime.service import service_app

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ABSOLUTE = re.compile(r"""https?://[^\s"'<>)]+""")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "docs.test"}
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def app() -> FastAPI:
    return service_app("example", lambda: [], description="An example service.")


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://docs.test")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_page_names_no_asset_outside_the_service(path: str) -> None:
    async with client() as http:
        resp = await http.get(path)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/html")
        outside = [u for u in ABSOLUTE.findall(resp.text) if urlsplit(u).hostname not in LOOPBACK]
        assert outside == [], f"{path} loads from the internet: {outside}"
        assets = [a for a in ASSET.findall(resp.text) if not a.startswith("#")]
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            got = await http.get(asset)
            assert got.status_code == 200, asset
            suffix = next(s for s in TYPES if asset.endswith(s))
            assert TYPES[suffix] in got.headers["content-type"], (asset, got.headers["content-type"])
            assert len(got.content) > 1000, asset  # the real bundle, not an empty stand-in


async def test_swagger_page_loads_scripts_only_from_the_service_and_its_own_inline_script() -> None:
    async with client() as http:
        resp = await http.get("/docs")
        csp = resp.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
        assert directives["script-src"].split()[0] == "'self'"
        assert "'unsafe-inline'" not in directives["script-src"]  # the one inline script is allowed by its hash
        assert "http" not in csp
        health = await http.get("/healthz")
        assert "content-security-policy" not in health.headers  # the docs' policy is the docs' own


async def test_swagger_never_asks_the_online_validator() -> None:
    async with client() as http:
        resp = await http.get("/docs")
        assert '"validatorUrl": null' in resp.text
