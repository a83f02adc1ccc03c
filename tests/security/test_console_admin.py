"""The console's team board and administration: a specialist (or a client) is refused in words before the gateway is
asked anything, and every form that changes something there needs the session's CSRF token, so a page on another
site cannot make an administrator's or a lead's browser change the desk."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from services.console.app import create_app, route_modules
from services.console.session import COOKIE, Sessions
from services.console.settings import ConsoleSettings

HTML = {"accept": "text/html"}
LINES = {"name": "lines", "owner": "routing", "description": "Support lines", "key": "id",
         "json_schema": {"properties": {"id": {"type": "string", "title": "Id"}}, "required": ["id"]}}
BOARD = {"teams": [{"id": "A", "name": "Team A", "agents": [
    {"id": "ann", "name": "Ann", "availability": "online", "line_ids": [], "group_ids": [], "team_ids": ["A"],
     "roles": ["specialist"], "load": {"assigned": 0, "working": 1},
     "tickets": [{"id": "T-1", "number": 1, "status": "in_progress", "subject": "Printer"}]}]}]}


class Gateway:
    """Answers the console's calls and remembers them, to show what reached the desk."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/v1/admin/directories":
            return httpx.Response(200, json=[LINES])
        if request.url.path == "/api/v1/team/board":
            return httpx.Response(200, json=BOARD)
        return httpx.Response(200, json={"items": [], "rows": [], "key": "x", "version": 1, "data": {"id": "x"}})

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if not c.startswith("GET ")]


def _console(gateway: Gateway) -> TestClient:
    return TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway)))


def _sign_in(c: TestClient, role: str, user: str = "u") -> str:
    sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
    session = sessions.new("tok", user, role, name=user)
    c.cookies.set(COOKIE, sessions.seal(session))
    return session.csrf


def _posts(prefix: str) -> list[str]:
    """Every state-changing route of an area, with made-up path parameters."""
    paths = [path for m in route_modules() for r in m.router.routes
             if (path := getattr(r, "path", "")).startswith(prefix) and "POST" in getattr(r, "methods", set())]
    return [re.sub(r"\{[^}]+\}", lambda m: "lines" if m.group(0) == "{name}" else "x", p) for p in paths]


@pytest.mark.parametrize("role", ["specialist", "client"])
def test_a_specialist_or_client_is_refused_the_board_and_administration_in_words(role: str) -> None:
    gateway = Gateway()
    with _console(gateway) as c:
        csrf = _sign_in(c, role)
        for path in ("/admin", "/admin/directories/lines", "/admin/directories/lines/new",
                     "/admin/directories/lines/entries/x", "/admin/templates", "/team", "/team/board"):
            page = c.get(path, headers=HTML, follow_redirects=False)
            assert page.status_code == 403, path
            assert "for administrators only" in page.text or "for team leads" in page.text, path
        for path in [*_posts("/admin"), *_posts("/team")]:
            assert c.post(path, headers=HTML, data={"csrf_token": csrf, "f.id": "x"}).status_code == 403, path
    assert gateway.calls == []  # nothing was asked of the desk


@pytest.mark.parametrize("role, prefix", [("administrator", "/admin"), ("team_lead", "/team")])
def test_every_form_there_needs_this_sessions_csrf_token(role: str, prefix: str) -> None:
    gateway = Gateway()
    with _console(gateway) as c:
        posts = _posts(prefix)
        assert len(posts) >= 2, posts  # the scan finds the area's forms
        other = _sign_in(c, role, "other")
        mine = _sign_in(c, role)
        for path in posts:
            for data in ({}, {"csrf_token": ""}, {"csrf_token": other}, {"csrf_token": mine + "x"}):
                resp = c.post(path, headers=HTML, data={**data, "f.id": "x", "agent_id": "ann",
                                                         "availability": "lunch"}, follow_redirects=False)
                assert resp.status_code == 403, (path, data)
        assert gateway.writes == []
        done = c.post(posts[0], data={"csrf_token": mine, "f.id": "x", "agent_id": "ann", "availability": "lunch",
                                      "version": "1"}, follow_redirects=False)
        assert done.status_code in (303, 422), posts[0]  # with its token the same form is taken
