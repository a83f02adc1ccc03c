"""The pipeline as separate OS processes over the real broker: what `make up` runs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from services.gateway.access.auth import mint_token
from services.gateway.settings import GatewaySettings
from tools.processes import ServiceProcess


@pytest.fixture
def services(env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    procs = [ServiceProcess(name, env, tmp_path / "logs") for name in ("tickets", "intake", "gateway")]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.wait_ready()
        yield {p.name: p for p in procs}
    finally:
        for p in procs:
            p.stop()


def test_separate_processes_open_and_read_a_ticket(services: dict[str, ServiceProcess]) -> None:
    intake, gateway = services["intake"].url, services["gateway"].url
    auth = {"Authorization": f"Bearer {mint_token(GatewaySettings(), 'tester', 'administrator')}"}
    resp = httpx.post(f"{intake}/api/v1/inbound", json={
        "channel": "chat", "external_id": "chat-msg-1", "conversation_id": "chat-42",
        "sender": {"chat_id": "tg:1001", "name": "Boris"}, "text": "Router keeps rebooting"})
    assert resp.status_code == 202
    deadline = time.monotonic() + 20
    items: list[dict[str, object]] = []
    while time.monotonic() < deadline and not items:
        items = httpx.get(f"{gateway}/api/v1/tickets", headers=auth).json()["items"]
        time.sleep(0.1)
    assert len(items) == 1 and items[0]["channel"] == "chat" and items[0]["status"] == "new"
    ticket = httpx.get(f"{gateway}/api/v1/tickets/{items[0]['id']}", headers=auth).json()
    assert ticket["sender"]["chat_id"] == "tg:1001"
    for svc in services.values():
        assert httpx.get(f"{svc.url}/healthz").json()["status"] == "ok"
        assert "frontline_" in httpx.get(svc.metrics_url).text
