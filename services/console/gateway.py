"""The console's only way to the desk: the gateway's public API, called with the signed-in user's own token."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from .session import CurrentSession
from .settings import ConsoleSettings

API = "/api/v1"


class GatewayProblem(Exception):
    """A non-2xx answer of the gateway, from its RFC 9457 body; ``errors`` are its ``{loc, msg, ...}`` items."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 errors: list[dict[str, Any]] | None = None, code: str | None = None) -> None:
        super().__init__(f"{status} {title}: {detail or ''}")
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []
        self.code = code  # the ledger's rejection code (409 urn:frontline:command-rejected), for words per code

    def field_errors(self) -> dict[str, str]:
        """Field name (the last string of each ``loc``) → message, to show each next to its field."""
        out: dict[str, str] = {}
        for e in self.errors:
            names = [str(part) for part in e.get("loc", []) if isinstance(part, str) and part != "body"]
            if names:
                out.setdefault(names[-1], str(e.get("msg", "")))
        return out


class GatewayUnauthorized(GatewayProblem):
    """The gateway refused the session's token (expired, revoked): the console signs the user out."""


class GatewayUnavailable(GatewayProblem):
    """The gateway did not answer."""


# The gateway's refusals a page shows in words next to its form; any other answer is the error page's.
SHOWN_REFUSALS = frozenset({400, 403, 409, 412, 413, 415, 422, 429})


def shown(exc: GatewayProblem) -> bool:
    """A refusal the page shows in words (an expired session never is: it signs the user out)."""
    return not isinstance(exc, GatewayUnauthorized) and exc.status in SHOWN_REFUSALS


async def optional(call: Awaitable[Any], default: Any = None) -> Any:
    """A part the page can do without (a side panel, the counts): ``default`` when the gateway will not give it."""
    try:
        return await call
    except GatewayUnauthorized:
        raise
    except GatewayProblem:
        return default


def problem_of(resp: httpx.Response) -> GatewayProblem:
    body: Any = None
    if resp.headers.get("content-type", "").split(";")[0].endswith("json"):
        try:
            body = resp.json()
        except ValueError:
            body = None
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors") if isinstance(body.get("errors"), list) else None
    cls = GatewayUnauthorized if resp.status_code == 401 else GatewayProblem
    return cls(resp.status_code, str(body.get("title") or resp.reason_phrase or "Error"),
               str(body["detail"]) if body.get("detail") else None, errors,
               str(body["code"]) if isinstance(body.get("code"), str) else None)


class GatewayClient:
    """One ``httpx.AsyncClient`` for the process (created at start-up, closed at shutdown)."""

    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings, self.transport = settings, transport
        self.http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.settings.gateway_url.rstrip("/") + API,
                                      timeout=self.settings.gateway_timeout_seconds, transport=self.transport)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    def http_client(self) -> httpx.AsyncClient:
        if self.http is None:
            raise RuntimeError("the gateway client is not started")
        return self.http

    def as_user(self, token: str) -> Api:
        return Api(self.http_client(), token)


class Api:
    """Calls relative to ``/api/v1`` as one user; a non-2xx answer raises :class:`GatewayProblem`."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.headers = http, {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = await self._send(method, path, **kw)
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(503, "The desk is not answering", type(exc).__name__) from exc
        if resp.status_code >= 300:
            raise problem_of(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A read is sent once more when the gateway closed a kept-alive connection as it was reused (the idle
        timeout race every keep-alive client meets under load); a read is safe to repeat, a write is not."""
        try:
            return await self.http.request(method, path, headers=self.headers, **kw)
        except httpx.RemoteProtocolError:
            if method != "GET":
                raise
            return await self.http.request(method, path, headers=self.headers, **kw)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, files: Any = None, data: Any = None) -> Any:
        return await self.request("POST", path, json=json, files=files, data=data)

    async def put(self, path: str, json: Any = None) -> Any:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def raw(self, method: str, path: str, params: dict[str, Any] | None = None,
                  timeout: httpx.Timeout | None = None) -> httpx.Response:
        """A streamed answer (downloads, exports, SSE); the caller closes it (``await resp.aclose()``)."""
        req = self.http.build_request(method, path, params=params, headers=self.headers,
                                      timeout=timeout or self.http.timeout)
        try:
            resp = await self.http.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(503, "The desk is not answering", type(exc).__name__) from exc
        if resp.status_code >= 300:
            await resp.aread()
            await resp.aclose()
            raise problem_of(resp)
        return resp


def gateway_of(request: Request) -> GatewayClient:
    client: GatewayClient = request.app.state.gateway
    return client


def user_api(request: Request, session: CurrentSession) -> Api:
    return gateway_of(request).as_user(session.token)


UserApi = Annotated[Api, Depends(user_api)]
