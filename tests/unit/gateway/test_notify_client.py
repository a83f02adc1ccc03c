"""The gateway's client of notify's internal API alone: what each answer from notify becomes for the caller."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from services.gateway.clients.notify import NotifyApi
from services.gateway.settings import GatewaySettings
from shared.contracts.notify_api import PreviewIn
from shared.runtime.problems import ProblemError

ITEM = {"id": "n-1", "user_id": "olga", "ticket_id": "T-1", "template": "escalation", "language": "en",
        "subject": "s", "text": "t", "created_at": "2026-03-02T09:00:00Z", "read": False}


def api(handler: Callable[[httpx.Request], httpx.Response], token: str | None = "svc-token") -> NotifyApi:
    settings = GatewaySettings(service_token=SecretStr(token) if token else None, notify_url="http://notify:8005/")
    return NotifyApi(settings, httpx.MockTransport(handler))


async def test_it_names_the_caller_sends_the_service_token_and_keeps_ids_in_their_segment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/read"):
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return httpx.Response(200, json={"items": [ITEM]})

    notify = api(handler)
    items = await notify.inbox("olga", True, 20)
    assert [i.id for i in items] == ["n-1"]
    assert seen[0].url.path == "/api/v1/inbox" and dict(seen[0].url.params) == {
        "user": "olga", "unread": "true", "limit": "20"}
    assert seen[0].headers["authorization"] == "Bearer svc-token"
    assert await notify.mark_read("ivan", "../../templates/x") is False
    assert seen[1].url.raw_path.startswith(b"/api/v1/inbox/%2E%2E%2F%2E%2E%2Ftemplates%2Fx/read?")
    assert dict(seen[1].url.params) == {"user": "ivan"}


async def test_without_a_token_it_sends_no_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": ["reply"], "languages": ["ru", "en"]})

    assert (await api(handler, token=None).template_names()).items == ["reply"]
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(("answer", "status"), [
    (httpx.Response(500, text="boom"), 502),
    (httpx.Response(401, json={"title": "Unauthorized", "status": 401}), 502),
    (httpx.Response(403, json={"title": "Forbidden", "status": 403}), 502),
    (httpx.Response(503, json={"title": "Service Unavailable", "status": 503}), 503),
    (httpx.Response(200, text="not json"), 502),
    (httpx.Response(200, json={"name": "reply"}), 502),  # not a preview
    (httpx.Response(422, json={"title": "Template cannot be rendered", "status": 422, "detail": "no config"}), 422),
    (httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": "no template 'x'"}), 404),
])
async def test_notify_failing_is_502_or_503_and_its_refusals_of_the_request_pass_on(answer: httpx.Response,
                                                                                     status: int) -> None:
    with pytest.raises(ProblemError) as caught:
        await api(lambda _request: answer).preview("reply", PreviewIn(language="en"))
    assert caught.value.status == status
    if status in (404, 422):
        assert caught.value.detail == answer.json()["detail"]


async def test_unreachable_notify_is_503_with_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProblemError) as caught:
        await api(handler).inbox("olga", False, 5)
    assert caught.value.status == 503 and caught.value.headers["Retry-After"]
