"""The queue screen asks the gateway for rows only, and the nav says "99+" for a queue past the gateway's cap."""

from __future__ import annotations

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.routes.workspace import PAGE_SIZE
from services.console.settings import ConsoleSettings
from services.console.views.queues import capped

ROW = {"id": "T-1", "number": 7, "subject": "No connection", "status": "offered", "line": "first",
       "client": {"client_id": "C-1", "client_name": "Vector"}, "offered_to": ["ann"],
       "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z"}
COUNTS = {"agent_id": "ann", "counts": {"offers": 99, "mine": 4}, "cap": 99, "capped": ["offers", "bogus"]}


def test_capped_takes_only_our_queues_from_a_list() -> None:
    assert capped(COUNTS) == {"offers"}
    assert capped({"capped": "offers"}) == set() and capped(None) == set() and capped({"counts": {}}) == set()


def test_the_queue_screen_asks_for_rows_and_the_nav_marks_capped_counts() -> None:
    asked: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.url.path == "/api/v1/queues":
            return httpx.Response(200, json=COUNTS)
        return httpx.Response(200, json={"items": [ROW], "limit": PAGE_SIZE, "next_cursor": None})

    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))) as c:
        signed_in(c)
        page = c.get("/queues/offers", headers=HTML)
        rows = c.get("/queues/offers/rows", params={"tag": "vip"}, headers=HTML)
        nav = c.get("/queues/counts", params={"current": "offers"}, headers=HTML).text
    assert page.status_code == rows.status_code == 200
    assert 'data-row data-href="/tickets/T-1"' in page.text and "Vector" in rows.text
    queue_reads = [r.url.params for r in asked if r.url.path == "/api/v1/queues/offers"]
    assert [(q.get("view"), q.get("limit"), q.get("tag")) for q in queue_reads] == [
        ("rows", str(PAGE_SIZE), None), ("rows", str(PAGE_SIZE), "vip")]
    assert '<span class="count" aria-label="99+ tickets">99+</span>' in nav
    assert '<span class="count" aria-label="4 tickets">4</span>' in nav
