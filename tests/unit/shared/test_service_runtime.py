"""shared.runtime.service: liveness that reports dead loops, metric labels from a fixed set, no public /metrics."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.runtime.health import watch
from shared.runtime.service import metrics_app, service_app
from tests.support.testing import running


class Loop:
    """A component whose background loop can die, as a consumer's can."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self.unwatch = lambda: None

    async def start(self) -> None:
        self.unwatch = watch("loop", lambda: self.failure)

    async def stop(self) -> None:
        self.unwatch()


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")  # type: ignore[arg-type]


async def test_healthz_answers_503_with_the_reason_while_a_loop_is_dead() -> None:
    loop = Loop()
    app = service_app("probe", lambda: [loop])
    async with running(app), client(app) as api:
        assert (await api.get("/healthz")).status_code == 200
        loop.failure = "consume-tickets.commands died: RuntimeError('boom')"
        health, ready = await api.get("/healthz"), await api.get("/readyz")
        assert health.status_code == 503 and health.json()["problems"] == ["loop: " + loop.failure]
        assert ready.status_code == 503 and ready.json()["problems"] == ["loop: " + loop.failure]
        loop.failure = None
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/readyz")).status_code == 200


async def test_a_stopped_app_forgets_its_loops() -> None:
    loop = Loop()
    app = service_app("probe", lambda: [loop])
    async with running(app):
        loop.failure = "dead"
    other = service_app("other", lambda: [])
    async with running(other), client(other) as api:
        assert (await api.get("/healthz")).status_code == 200, "another app's loop is not this app's"


def _methods(text: str, service: str) -> set[str]:
    return {s.labels["method"] for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name == "frontline_http_request_seconds_count" and s.labels["service"] == service}


async def test_made_up_methods_share_one_label_and_metrics_are_not_public() -> None:
    app = service_app("labels-probe", lambda: [])
    async with running(app), client(app) as api, client(metrics_app()) as metrics:
        for i in range(1000):
            await api.request(f"MADEUP{i}", "/healthz")
        await api.get("/healthz")
        await api.request("OPTIONS", "/nowhere")
        assert (await api.get("/metrics")).status_code == 404
        page = await metrics.get("/metrics")
        assert page.status_code == 200
        assert _methods(page.text, "labels-probe") == {"OTHER", "GET", "OPTIONS"}
        routes = {s.labels["route"] for fam in text_string_to_metric_families(page.text) for s in fam.samples
                  if s.labels.get("service") == "labels-probe"}
        assert routes == {"/healthz", "unmatched"}
