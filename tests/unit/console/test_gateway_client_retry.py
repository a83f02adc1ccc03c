"""The console's gateway client sends a read once more when the connection closed under it, never a write."""

from __future__ import annotations

import httpx
import pytest

from services.console.gateway import Api, GatewayUnavailable


def closing_once() -> tuple[httpx.AsyncClient, list[str]]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json={"ok": request.method})

    return httpx.AsyncClient(base_url="http://gateway.test/api/v1", transport=httpx.MockTransport(answer)), seen


async def test_a_read_is_sent_again_when_the_connection_closed_under_it() -> None:
    http, seen = closing_once()
    async with http:
        assert await Api(http, "token").get("/tickets") == {"ok": "GET"}
    assert seen == ["GET", "GET"]


async def test_a_write_is_never_sent_twice() -> None:
    http, seen = closing_once()
    async with http:
        with pytest.raises(GatewayUnavailable):
            await Api(http, "token").post("/tickets/T-1/claim", json={})
    assert seen == ["POST"]
