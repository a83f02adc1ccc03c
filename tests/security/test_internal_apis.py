"""Attack replay (issue 16, item 2): notify's HTTP API was open to anyone who could reach its port.

Deliveries (addresses, texts, survey links), anyone's inbox and the retry button now demand service
authentication: the shared service token, or, in the one-machine default without a token, a loopback caller.
The SMS provider's delivery-report webhook keeps its own check, the provider's signature, and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.sms import signature
from shared.runtime.secrets import StartupSecretError
from tests.support.testing import make_settings

TOKEN = "s3rvice-t0ken-for-tests"
REMOTE = ("203.0.113.9", 1234)
CALLBACK = "https://notify.desk.test/api/v1/sms/status"
PROTECTED = [("GET", "/api/v1/deliveries", None), ("GET", "/api/v1/deliveries/nope", None),
             ("POST", "/api/v1/deliveries/nope/retry", None), ("GET", "/api/v1/inbox?user=olga", None),
             ("POST", "/api/v1/inbox/nope/read?user=olga", None), ("GET", "/api/v1/templates", None),
             ("GET", "/api/v1/templates/reply/preview", None),
             ("POST", "/api/v1/templates/reply/preview", {"language": "en"})]
# What each protected route answers an authenticated caller (nothing of the kind exists in a fresh database).
ALLOWED = {"/api/v1/deliveries/nope": 404, "/api/v1/deliveries/nope/retry": 409, "/api/v1/inbox/nope/read": 404}


@asynccontextmanager
async def notify(env: dict[str, str], client: tuple[str, int] = ("127.0.0.1", 50000),
                 **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(NotifySettings, env, **overrides))
    transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        yield http


async def call(http: httpx.AsyncClient, method: str, url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await http.request(method, url, json=body, headers=headers)


def expected(url: str) -> int:
    return ALLOWED.get(url.split("?")[0], 200)


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
async def test_with_a_service_token_only_its_bearer_gets_in(env: dict[str, str], method: str, url: str,
                                                            body: Any) -> None:
    async with notify(env, client=REMOTE, service_token=TOKEN) as http:
        none = await call(http, method, url, body, {})
        wrong = await call(http, method, url, body, {"Authorization": "Bearer not-the-token"})
        basic = await call(http, method, url, body, {"Authorization": f"Basic {TOKEN}"})
        right = await call(http, method, url, body, {"Authorization": f"Bearer {TOKEN}"})
    for resp in (none, wrong, basic):
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert right.status_code == expected(url), right.text


async def test_the_token_is_demanded_of_loopback_callers_too(env: dict[str, str]) -> None:
    async with notify(env, service_token=TOKEN) as http:
        assert (await http.get("/api/v1/deliveries")).status_code == 401
        ok = await http.get("/api/v1/deliveries", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"items": []}


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
async def test_without_a_token_development_answers_loopback_only(env: dict[str, str], method: str, url: str,
                                                                 body: Any) -> None:
    async with notify(env, client=REMOTE) as http:
        remote = await call(http, method, url, body, {})
    async with notify(env) as http:
        local = await call(http, method, url, body, {})
    assert remote.status_code == 401, remote.text
    assert "loopback" in remote.json()["detail"]
    assert local.status_code == expected(url), local.text


async def test_production_without_a_token_does_not_start_and_the_api_would_answer_503(env: dict[str, str]) -> None:
    with pytest.raises(StartupSecretError, match="FRONTLINE_SERVICE_TOKEN"):
        create_app(make_settings(NotifySettings, env, environment="production", command_key="k" * 32))
    # Were it started anyway, every protected route would answer 503 rather than open up.
    settings = make_settings(NotifySettings, env, environment="production", service_token=TOKEN, command_key="k" * 32)
    app = create_app(settings)
    settings.service_token = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notify") as http:
        for method, url, body in PROTECTED:
            resp = await call(http, method, url, body, {"Authorization": f"Bearer {TOKEN}"})
            assert resp.status_code == 503, (url, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")


async def test_the_sms_webhook_needs_the_provider_signature_not_the_service_token(env: dict[str, str]) -> None:
    params = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}
    signed = {"X-Twilio-Signature": signature("twilio-token", CALLBACK, params)}
    async with notify(env, client=REMOTE, service_token=TOKEN, sms_auth_token="twilio-token",
                      sms_status_callback_url=CALLBACK) as http:
        unsigned = await http.post("/api/v1/sms/status", data=params)
        forged = await http.post("/api/v1/sms/status", data=params, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        other_key = await http.post("/api/v1/sms/status", data=params,
                                    headers={"X-Twilio-Signature": signature("guess", CALLBACK, params)})
        tampered = await http.post("/api/v1/sms/status", data={**params, "MessageStatus": "failed"}, headers=signed)
        good = await http.post("/api/v1/sms/status", data=params, headers=signed)
    for resp in (unsigned, forged, other_key, tampered):
        assert resp.status_code == 403, resp.text
    assert good.status_code == 404 and "SMunknown" in good.json()["detail"]  # signed and checked: unknown SMS


@pytest.mark.parametrize("overrides", [{"sms_auth_token": ""},
                                       {"sms_auth_token": "t", "sms_validate_signature": False}])
async def test_the_sms_webhook_cannot_be_left_unchecked(env: dict[str, str], overrides: dict[str, Any]) -> None:
    """No auth token means anyone can sign (HMAC with an empty key); switching the check off is refused too."""
    params = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}
    forged = {"X-Twilio-Signature": signature("", CALLBACK, params)}
    async with notify(env, client=REMOTE, sms_status_callback_url=CALLBACK, **overrides) as http:
        resp = await http.post("/api/v1/sms/status", data=params, headers=forged)
    assert resp.status_code == 403, resp.text
