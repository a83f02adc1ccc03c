"""Production sign-in end to end: the console's authorization-code flow with PKCE against an OIDC provider of ours,
a gateway that trusts that provider's JWKS, and the abuse cases: a replayed callback (the code is good once) and a
stolen code used from another browser (its own state, not the victim's verifier)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.directory.routing import Agent, Line
from shared.runtime.clock import SystemClock
from tests.support.console_client import HTML
from tests.support.desk import running_desk
from tests.support.oidc_provider import Provider
from tests.support.testing import serving
from tools.ports import free_port


@dataclass
class Sso:
    console: str
    provider: Provider


@pytest_asyncio.fixture(loop_scope="session")
async def sso(env: dict[str, str]) -> AsyncIterator[Sso]:
    idp_port, console_port = free_port(), free_port()
    idp = f"http://127.0.0.1:{idp_port}"
    provider = Provider(issuer=idp, audience="frontline", client_id="console",
                        login_as={"sub": "olga", "name": "Olga", "role": "specialist", "lines": ["first"]})
    gateway = {"jwks_url": f"{idp}/jwks", "oidc_issuer": idp, "oidc_audience": "frontline"}
    async with serving(provider.app(), port=idp_port), \
            running_desk(env, SystemClock(), ["gateway"], settings={"gateway": gateway}) as d:
        await d.put(Line(id="first", order=1), Agent(id="olga", name="Olga", line_ids=["first"]))
        console = ConsoleSettings(gateway_url=str(d.http.base_url), public_url=f"http://127.0.0.1:{console_port}",
                                  oidc_issuer=idp, oidc_authorize_url=f"{idp}/authorize",
                                  oidc_token_url=f"{idp}/token", oidc_client_id="console")
        async with serving(d.app) as gateway_url:
            console = console.model_copy(update={"gateway_url": gateway_url})
            async with serving(create_app(console), lifespan="on", port=console_port) as url:
                yield Sso(url, provider)


async def authorize(browser: httpx.AsyncClient, next_url: str = "/queues/mine") -> httpx.URL:
    """Start at the console, pass the provider; the callback URL the provider sends the browser back to."""
    start = await browser.get("/sign-in/oidc", params={"next": next_url})
    assert start.status_code in (302, 303, 307), start.text
    at_idp = await browser.get(start.headers["location"])
    assert at_idp.status_code == 302, at_idp.text
    return httpx.URL(at_idp.headers["location"])


async def test_a_specialist_signs_in_through_the_provider_and_works_with_its_token(sso: Sso) -> None:
    async with httpx.AsyncClient(base_url=sso.console, timeout=30) as browser:
        callback = await authorize(browser)
        assert callback.path == "/auth/callback" and "code" in callback.params
        done = await browser.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/queues/mine"
        assert "fl_session" in browser.cookies
        page = await browser.get("/queues/mine", headers=HTML)
        assert page.status_code == 200 and "Signed in as Olga" in page.text


async def test_a_replayed_callback_signs_nobody_in(sso: Sso) -> None:
    async with httpx.AsyncClient(base_url=sso.console, timeout=30) as browser:
        callback = await authorize(browser)
        pending = dict(browser.cookies)
        assert (await browser.get(callback)).status_code == 303
    async with httpx.AsyncClient(base_url=sso.console, timeout=30, cookies=pending) as replay:
        again = await replay.get(callback, headers=HTML)  # same code, same pending cookie: the code is spent
        assert again.status_code == 400 and "fl_session" not in replay.cookies
        assert (await replay.get("/queues/mine", headers=HTML, follow_redirects=False)).status_code == 303


async def test_a_stolen_code_is_useless_in_another_browser(sso: Sso) -> None:
    async with httpx.AsyncClient(base_url=sso.console, timeout=30) as victim, \
            httpx.AsyncClient(base_url=sso.console, timeout=30) as thief:
        stolen = (await authorize(victim)).params["code"]
        own = await authorize(thief)  # the thief's own pending sign-in: his state and verifier
        forged = own.copy_merge_params({}).copy_set_param("code", stolen)
        refused = await thief.get(forged, headers=HTML)
        assert refused.status_code == 400 and "fl_session" not in thief.cookies
        assert stolen in sso.provider.refused  # the provider saw a verifier that is not the victim's
