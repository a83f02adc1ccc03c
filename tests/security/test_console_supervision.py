"""The console's lead pages of the portal (issue 23) under attack: a specialist or a client is refused in words before
the gateway is asked; an invitation needs this session's CSRF token, so another site cannot make a lead's browser
invite someone; clients' feedback with markup (and a client name with markup) renders inert."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.session import COOKIE, Sessions
from services.console.settings import ConsoleSettings

HTML = {"accept": "text/html"}
CONTACT = "contact_id=P-1&email=anna%40c1.example"
HOSTILE = ('<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'
           '{{ 7*7 }}</td></tr></table><iframe src="//evil.example">')
ANSWERS = {
    "/api/v1/portal/invitations/clients": {"items": [{"id": "C-1", "name": "Vector"}], "next_cursor": None,
                                           "ticket_access": ["organisation", "own"]},
    "/api/v1/portal/invitations/clients/C-1/contacts": {"client": {"id": "C-1", "name": "Vector"}, "items": [
        {"id": "P-1", "name": "Anna", "emails": ["anna@c1.example"]}]},
    "/api/v1/portal/feedback": {"next_cursor": None, "items": [
        {"id": "f1", "client_id": "C-1", "client_name": "<b onmouseover=alert(4)>Vector</b>", "contact_id": "P-1",
         "name": "<script>alert(5)</script>", "topic": "complaint", "text": HOSTILE, "rating": 1,
         "at": "2026-03-02T09:05:00Z"}]},
}


class Gateway:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, json={"status": "accepted", "contact_id": "P-1", "email": "anna@c1.example",
                                             "rights": {"tickets": "own"}, "expires_at": "2026-03-05T09:00:00Z"})
        return httpx.Response(200, json=ANSWERS.get(request.url.path, {}))

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if not c.startswith("GET ")]


def _sign_in(c: TestClient, role: str, user: str = "u") -> str:
    sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
    session = sessions.new("tok", user, role, name=user)
    c.cookies.set(COOKIE, sessions.seal(session))
    return session.csrf


@pytest.mark.parametrize("role", ["specialist", "client"])
def test_a_specialist_or_client_gets_a_403_page_for_the_lead_pages_and_nothing_reaches_the_desk(role: str) -> None:
    gateway = Gateway()
    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))) as c:
        csrf = _sign_in(c, role)
        for path, words in (("/team/invitations?client_id=C-1", "Invitations to the portal are for team leads"),
                            ("/team/feedback", "The portal's feedback is for team leads")):
            page = c.get(path, headers=HTML)
            assert page.status_code == 403 and words in page.text.replace("&#39;", "'"), path
            assert 'href="/team/invitations"' not in page.text and 'href="/team/feedback"' not in page.text
        sent = c.post("/team/invitations", headers=HTML, data={"csrf_token": csrf, "client_id": "C-1",
                                                                "contact": CONTACT, "tickets": "own"})
        assert sent.status_code == 403
    assert gateway.calls == []


@pytest.mark.parametrize("role", ["team_lead", "administrator"])
def test_an_invitation_without_this_sessions_csrf_token_is_refused_and_sends_nothing(role: str) -> None:
    gateway = Gateway()
    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))) as c:
        other = _sign_in(c, role, "other")
        mine = _sign_in(c, role)
        form = {"client_id": "C-1", "contact": CONTACT, "tickets": "own", "language": "en"}
        for token in ({}, {"csrf_token": ""}, {"csrf_token": other}, {"csrf_token": mine + "x"}):
            refused = c.post("/team/invitations", headers=HTML, data={**form, **token})
            assert refused.status_code == 403, token
        refused = c.post("/team/invitations", headers={**HTML, "x-csrf-token": other},
                         data={**form, "csrf_token": mine})
        assert refused.status_code == 403  # the header, when sent, is what is checked
        assert gateway.writes == []
        done = c.post("/team/invitations", headers=HTML, data={**form, "csrf_token": mine})
        assert done.status_code == 200 and "An invitation was sent to anna@c1.example" in done.text
    assert gateway.writes == ["POST /api/v1/portal/invitations"]


def test_markup_in_feedback_renders_inert() -> None:
    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(Gateway()))) as c:
        _sign_in(c, "team_lead")
        page = c.get("/team/feedback", headers=HTML)
    assert page.status_code == 200, page.text
    body = page.text.split('<main id="main"', 1)[1]
    for live in ("<script>alert", "<img", "<iframe", 'href="javascript:', "<b onmouseover", "</table><iframe"):
        assert live not in body, live
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in body
    assert "&lt;b onmouseover=alert(4)&gt;Vector&lt;/b&gt;" in body and "{{ 7*7 }}" in body
    assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
