"""The console's session cookie and forms: forged or tampered cookies, missing or foreign CSRF tokens, redirects.

The console holds each user's gateway token in its cookie, so a cookie it did not seal, or sealed for someone else,
must never act; a form posted from another site (or another session) must change nothing.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.session import COOKIE, Sessions, fernet_key, safe_next
from services.console.settings import DEV_SESSION_SEED, ConsoleSettings

HTML = {"accept": "text/html"}


def _client(**settings: object) -> TestClient:
    return TestClient(create_app(ConsoleSettings(**settings)))  # type: ignore[arg-type]


def _signed_out(resp: object) -> bool:
    return getattr(resp, "status_code", 0) == 303 and getattr(resp, "headers", {})["location"].startswith("/sign-in")


def test_forged_and_tampered_cookies_are_not_sessions() -> None:
    with _client(session_secret="s" * 32) as c:
        sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
        real = sessions.seal(sessions.new("tok", "ann", "specialist"))
        plain = json.dumps({"token": "t", "user_id": "mallory", "role": "administrator", "csrf": "x",
                            "exp": 9_999_999_999})
        # the development key (public in our source) cannot seal a cookie for a console with its own secret
        dev_sealed = Fernet(fernet_key(DEV_SESSION_SEED)).encrypt(plain.encode()).decode()
        raw = bytearray(base64.urlsafe_b64decode(real))
        raw[-40] ^= 1
        tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
        b64 = base64.b64encode(plain.encode()).decode()
        for forged in (plain, b64, dev_sealed, tampered, real[:-4], "", "x" * 5000):
            c.cookies.set(COOKIE, forged)
            assert _signed_out(c.get("/queues/offers", follow_redirects=False)), forged[:40]
        c.cookies.set(COOKIE, real)
        page = c.get("/queues/offers", follow_redirects=False)
        assert not _signed_out(page)  # the real one is a session (the gateway is away: a page in words, 503)


def test_an_expired_session_is_no_session() -> None:
    with _client() as c:
        sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
        old = Sessions(sessions.settings, now=lambda: 0.0).new("tok", "ann", "specialist")
        c.cookies.set(COOKIE, sessions.seal(old))
        assert _signed_out(c.get("/queues/offers", follow_redirects=False))


def test_state_changing_posts_need_this_sessions_csrf_token() -> None:
    with _client() as c:
        sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
        mine, theirs = sessions.new("tok", "ann", "specialist"), sessions.new("tok2", "bob", "specialist")
        c.cookies.set(COOKIE, sessions.seal(mine))
        for data in ({}, {"csrf_token": ""}, {"csrf_token": theirs.csrf}, {"csrf_token": mine.csrf + "x"}):
            for path in ("/sign-out", "/lang/ru"):
                resp = c.post(path, data=data, follow_redirects=False)
                assert resp.status_code == 403 and "set-cookie" not in resp.headers, (path, data)
        assert c.post("/sign-out", headers={"X-CSRF-Token": theirs.csrf}, follow_redirects=False).status_code == 403
        assert c.get("/sign-out").status_code == 405  # never a GET that changes something
        assert c.post("/sign-out", data={"csrf_token": mine.csrf}, follow_redirects=False).status_code == 303


def test_the_dev_sign_in_form_needs_its_own_cookie() -> None:
    with _client(dev_sign_in=True) as c:
        resp = c.post("/sign-in/dev", data={"person": "admin", "form_token": "made-up"}, follow_redirects=False)
        assert resp.status_code == 403 and "set-cookie" not in resp.headers


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x",
                                    "javascript:alert(1)", "/ok\r\nSet-Cookie: a=b", "evil.example", "/\t/evil"])
def test_next_never_leaves_the_console(target: str) -> None:
    assert safe_next(target) == "/"
    with _client() as c:
        sessions: Sessions = c.app.state.sessions  # type: ignore[attr-defined]
        session = sessions.new("tok", "ann", "specialist")
        c.cookies.set(COOKIE, sessions.seal(session))
        resp = c.post("/lang/ru", data={"csrf_token": session.csrf, "next": target}, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/"
        page = c.get("/sign-in", params={"next": target}, headers=HTML).text
        assert "evil" not in page and "javascript" not in page


def test_next_keeps_a_path_on_the_console() -> None:
    assert safe_next("/queues/mine?sort=created_at") == "/queues/mine?sort=created_at"
