"""Malware scanning left unconfigured is said, not hidden: in production the gateway and intake start and are ready
(files are clean at once, docs/operations.md "Malware scanning"), but the log warns at start and /readyz names it."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic_settings import SettingsConfigDict

from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared.runtime.clamd import ScanSettings, scanner_status
from shared.runtime.service import service_app
from tests.support.testing import running


class Scan(ScanSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")


def test_production_without_a_scanner_warns_naming_the_setting(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.runtime.clamd"):
        assert scanner_status(Scan(), production=True) == {"scanner": "not configured"}
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "GATEWAY_ATTACHMENT_SCAN_URL" in warning.getMessage() and "not scanned" in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shared.runtime.clamd"):
        assert scanner_status(Scan(), production=False) == {"scanner": "not configured"}
        assert scanner_status(Scan(attachment_scan_url="tcp://127.0.0.1:3310"), production=True) == {
            "scanner": "clamd"}
    assert not caplog.records


async def test_readiness_carries_its_details_and_stays_ready() -> None:
    app = service_app("probe", lambda: [], details=lambda: {"scanner": "not configured"})
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                               base_url="http://svc") as api:
        ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready", "service": "probe", "problems": [], "details": {"scanner": "not configured"}}


@pytest.mark.parametrize("build", [lambda url: gateway_app(GatewaySettings(attachment_scan_url=url)),
                                   lambda url: intake_app(IntakeSettings(attachment_scan_url=url))],
                         ids=["gateway", "intake"])
async def test_the_gateway_and_intake_say_whether_they_scan(build: object) -> None:
    for url, said in ((None, "not configured"), ("tcp://127.0.0.1:3310", "clamd")):
        app = build(url)  # type: ignore[operator]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as api:
            body = (await api.get("/readyz")).json()  # not started here: only what it says matters
        assert body["details"] == {"scanner": said}
