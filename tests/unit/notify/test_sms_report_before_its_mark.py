"""A signed SMS delivery report can reach notify before the sent mark that records the message's sid: it is
looked up again for a moment instead of being answered 404 (and lost) at once."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI

from services.notify import api
from services.notify.sms import signature
from shared.runtime.clock import ManualClock
from shared.runtime.problems import install_problem_handlers

URL, TOKEN = "https://desk.example/api/v1/sms/status", "twilio-token"


class Store:
    """Finds the SMS only after ``misses`` look-ups, as when its sent mark lands after the report arrives."""

    def __init__(self, misses: int) -> None:
        self.misses, self.lookups, self.reports = misses, 0, []

    async def by_provider_id(self, sid: str) -> dict[str, Any] | None:
        self.lookups += 1
        return {"_id": "n-1", "delivery_status": None} if self.lookups > self.misses else None

    async def record_report(self, doc_id: str, status: str, code: str | None, at: datetime) -> bool:
        self.reports.append((doc_id, status))
        return True


async def report(store: Store) -> httpx.Response:
    svc = SimpleNamespace(settings=SimpleNamespace(sms_auth_token=TOKEN, sms_status_callback_url=URL), store=store,
                          clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC)))
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(api.webhook_router(svc))  # type: ignore[arg-type]
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://desk.example") as http:
        return await http.post("/api/v1/sms/status", data=params,
                               headers={"X-Twilio-Signature": signature(TOKEN, URL, params)})


async def test_a_report_that_overtakes_its_sent_mark_is_recorded() -> None:
    store = Store(misses=2)
    assert (await report(store)).status_code == 204
    assert store.reports == [("n-1", "delivered")]


async def test_a_report_for_no_sms_is_still_a_404_after_the_waits(monkeypatch: Any) -> None:
    monkeypatch.setattr(api, "REPORT_WAITS", (0.01, 0.01))
    store = Store(misses=99)
    answer = await report(store)
    assert answer.status_code == 404 and store.lookups == 3 and not store.reports
