"""/metrics, replayed against a service process: not on the public port, and not grown by made-up methods.

Any method name used to become a label value (1,000 made-up methods grew intake's page from 28 KB to 2.25 MB), and
the page was served on the port the Ingress exposes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tools.processes import ServiceProcess


@pytest.fixture
def intake(env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("intake", env, tmp_path / "logs").start()
    try:
        proc.wait_ready(180)
        yield proc
    finally:
        proc.stop()


def _methods(page: str) -> set[str]:
    return {s.labels["method"] for fam in text_string_to_metric_families(page) for s in fam.samples
            if s.name == "frontline_http_request_seconds_count"}


def test_metrics_are_served_only_on_the_metrics_port(intake: ServiceProcess) -> None:
    assert intake.metrics_port != intake.port
    public = httpx.get(f"{intake.url}/metrics")
    assert public.status_code == 404 and "frontline_" not in public.text
    page = httpx.get(intake.metrics_url)
    assert page.status_code == 200 and "frontline_messages_consumed_total" in page.text


def test_a_thousand_made_up_methods_do_not_grow_the_page(intake: ServiceProcess) -> None:
    with httpx.Client(base_url=intake.url, timeout=30) as http:
        for i in range(10):
            http.request(f"WARMUP{i}", "/api/v1/inbound")
        http.get("/healthz")
        before = httpx.get(intake.metrics_url).text
        for i in range(1000):
            assert http.request(f"MADEUP{i}", "/api/v1/inbound").status_code in (400, 405, 501)
    after = httpx.get(intake.metrics_url).text
    assert _methods(after) <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert not any(f"MADEUP{i}" in after for i in (0, 999))
    assert len(after) < len(before) + 2_000, "the page stays the same size (counter values grow, series do not)"
