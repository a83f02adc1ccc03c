"""A console app for view-logic unit tests: the gateway answered by an in-process handler (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.session import COOKIE, Sessions
from services.console.settings import ConsoleSettings

HTML = {"accept": "text/html"}


def answer(routes: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    """``routes``: "GET /api/v1/me" → JSON body (or an httpx.Response)."""
    def handle(request: httpx.Request) -> httpx.Response:
        found = routes.get(f"{request.method} {request.url.path}")
        if found is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": request.url.path})
        return found if isinstance(found, httpx.Response) else httpx.Response(200, json=found)
    return handle


def console(routes: dict[str, Any] | None = None, **settings: Any) -> TestClient:
    app = create_app(ConsoleSettings(**settings), transport=httpx.MockTransport(answer(routes or {})))
    return TestClient(app)


def signed_in(client: TestClient, role: str = "specialist", user_id: str = "ann", **fields: Any) -> str:
    """Put a session cookie for ``user_id`` into ``client``; returns its CSRF token."""
    sessions: Sessions = client.app.state.sessions  # type: ignore[attr-defined]
    session = sessions.new("tok-" + user_id, user_id, role, name=user_id.title(), **fields)
    client.cookies.set(COOKIE, sessions.seal(session))
    return session.csrf
