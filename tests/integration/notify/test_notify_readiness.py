"""Production never sends through a channel nobody configured: notify runs, but /readyz answers 503 naming the
settings each unconfigured channel lacks, until they are set."""

from __future__ import annotations

import httpx

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.support.testing import eventually, make_settings, running

PRODUCTION = {"environment": "production", "service_token": "s3rvice-t0ken-for-tests", "command_key": "k" * 32}
PROVIDERS = {"smtp_host": "127.0.0.1", "smtp_port": 9, "sms_account_sid": "AC" + "0" * 32, "sms_auth_token": "t",
             "sms_messaging_service_sid": "MG" + "0" * 32, "chat_webhook_url": "http://127.0.0.1:9/c/{conversation_id}"}


async def readiness(env: dict[str, str], **overrides: object) -> list[httpx.Response]:
    """/readyz and /healthz once notify has started (its consumers running)."""
    app = create_app(make_settings(NotifySettings, env, **PRODUCTION, **overrides))
    async with running(app):
        svc = app.state.service
        await eventually(lambda: all(c.is_running() for c in svc.consumers), timeout=90, message="consumers")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
            return [await http.get("/readyz"), await http.get("/healthz")]


async def test_production_without_providers_is_not_ready_and_says_which_settings(env: dict[str, str]) -> None:
    ready, health = await readiness(env, sms_auth_token="t")
    assert ready.status_code == 503
    problems = " | ".join(ready.json()["problems"])
    for name in ("NOTIFY_SMTP_HOST", "NOTIFY_SMS_ACCOUNT_SID", "NOTIFY_SMS_FROM or NOTIFY_SMS_MESSAGING_SERVICE_SID",
                 "NOTIFY_CHAT_WEBHOOK_URL"):
        assert name in problems, name
    assert "NOTIFY_SMS_AUTH_TOKEN" not in problems  # the one SMS setting that is there
    assert health.status_code == 200  # alive: restarting it would not configure anything


async def test_production_with_every_provider_is_ready(env: dict[str, str]) -> None:
    ready, _ = await readiness(env, **PROVIDERS)
    assert ready.status_code == 200, ready.json()
