"""The console's frame: security headers on every page, the session cookie's flags, the dev sign-in switch, CSRF."""

from __future__ import annotations

import pytest
from console_fakes import HTML, console, signed_in

from services.console.app import CSP, create_app
from services.console.settings import ConsoleSettings
from shared.runtime.secrets import StartupSecretError

ME = {"user_id": "ann", "role": "specialist", "name": "Ann"}
AGENTS = {"items": [{"id": "ann", "name": "Ann", "roles": ["specialist"], "line_ids": ["first"], "group_ids": [],
                     "team_ids": ["A"], "availability": "online"}]}
CONTACTS = {"items": [{"key": "P-1", "version": 1, "data": {"id": "P-1", "client_id": "C-1", "name": "Petra"}}]}
PAGE = {"items": [], "limit": 100}
GATEWAY = {"GET /api/v1/me": ME, "GET /api/v1/agents": AGENTS, "GET /api/v1/admin/directories/contacts": CONTACTS,
           "GET /api/v1/queues/offers": PAGE}


def test_every_page_and_answer_carries_the_security_headers() -> None:
    with console(GATEWAY, dev_sign_in=True) as c:
        signed_in(c)
        for path in ("/sign-in", "/sign-in/dev", "/queues/offers", "/queues/offers/rows", "/queues/nowhere",
                     "/no/such/page"):
            resp = c.get(path, headers=HTML, follow_redirects=False)
            assert resp.headers["content-security-policy"] == CSP, path
            assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
            assert resp.headers["x-content-type-options"] == "nosniff"
            assert resp.headers["referrer-policy"] == "same-origin"
            assert resp.headers["cache-control"] == "no-store", path
        page = c.get("/queues/offers", headers=HTML).text
        assert "<script>" not in page and " on" + "click=" not in page and "style=" not in page


@pytest.mark.parametrize("environment, secure", [("development", False), ("production", True)])
def test_the_session_cookie_is_httponly_lax_and_secure_in_production(environment: str, secure: bool) -> None:
    extra = {"session_secret": "p" * 32} if environment == "production" else {"dev_sign_in": True}
    with console(GATEWAY, environment=environment, **extra) as c:
        sessions = c.app.state.sessions  # type: ignore[attr-defined]
        from fastapi import Response
        response = Response()
        sessions.issue(response, sessions.new("tok", "ann", "specialist"))
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("fl_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert ("Secure" in cookie) is secure
        assert "tok" not in cookie.split(";")[0]  # the gateway token is encrypted, not merely signed


def test_dev_sign_in_is_off_unless_enabled() -> None:
    with console(GATEWAY) as c:
        assert c.get("/sign-in/dev", headers=HTML).status_code == 404
        assert c.post("/sign-in/dev", data={"person": "admin", "form_token": "x"}).status_code == 404
        assert "/sign-in/dev" not in c.get("/sign-in", headers=HTML).text
    with console(GATEWAY, dev_sign_in=True) as c:
        page = c.get("/sign-in/dev", headers=HTML)
        assert page.status_code == 200 and "Ann" in page.text and "Petra" in page.text


def test_production_refuses_to_start_with_dev_sign_in_or_without_a_session_secret() -> None:
    with pytest.raises(StartupSecretError, match="CONSOLE_DEV_SIGN_IN"):
        create_app(ConsoleSettings(environment="production", dev_sign_in=True, session_secret="p" * 32))
    with pytest.raises(StartupSecretError, match="CONSOLE_SESSION_SECRET"):
        create_app(ConsoleSettings(environment="production"))
    create_app(ConsoleSettings(environment="production", session_secret="p" * 32))  # configured: starts


def test_state_changing_routes_refuse_a_missing_or_wrong_csrf_token() -> None:
    with console(GATEWAY) as c:
        csrf = signed_in(c)
        for path in ("/sign-out", "/lang/ru"):
            assert c.post(path, data={}, follow_redirects=False).status_code == 403
            assert c.post(path, data={"csrf_token": "guess"}, follow_redirects=False).status_code == 403
            assert c.post(path, headers={"X-CSRF-Token": "guess"}, follow_redirects=False).status_code == 403
        refused = c.post("/lang/ru", data={"csrf_token": "guess"}, headers=HTML)
        assert refused.status_code == 403 and "out of date" in refused.text  # said in words, on a page
        switched = c.post("/lang/ru", data={"csrf_token": csrf, "next": "/queues/offers"}, follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/queues/offers"
        assert c.post("/lang/de", data={"csrf_token": csrf}).status_code == 404
        assert "Предложены мне" in c.get("/queues/offers", headers=HTML).text
        out = c.post("/sign-out", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        assert out.status_code == 303 and 'fl_session=""' in out.headers["set-cookie"]


def test_without_a_session_pages_go_to_sign_in_and_home_goes_by_role() -> None:
    with console(GATEWAY) as c:
        away = c.get("/queues/mine?x=1", follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"] == "/sign-in?next=/queues/mine%3Fx%3D1"
        assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
        signed_in(c, role="client", user_id="P-1")
        assert c.get("/", follow_redirects=False).headers["location"] == "/portal"
        signed_in(c)
        assert c.get("/", follow_redirects=False).headers["location"] == "/queues/offers"
