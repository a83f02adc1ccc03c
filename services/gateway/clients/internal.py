"""The one way the gateway calls another service's internal HTTP API: the service token as bearer, the service's
``/api/v1`` as base, a timeout of its own, and a client that can be started again after a stop."""

from __future__ import annotations

from typing import Any

import httpx

from ..settings import GatewaySettings


class InternalService:
    def __init__(self, settings: GatewaySettings, url: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings, self.url, self.timeout, self.transport = settings, url, timeout, transport
        self.http = self._client()

    def _client(self) -> httpx.AsyncClient:
        token = self.settings.service_token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        return httpx.AsyncClient(base_url=self.url.rstrip("/") + "/api/v1", headers=headers,
                                 transport=self.transport, timeout=self.timeout)

    async def start(self) -> None:
        if self.http.is_closed:  # started again after a stop
            self.http = self._client()

    async def stop(self) -> None:
        await self.http.aclose()


def json_object(resp: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; anything else (no JSON, a list) as an empty one."""
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
