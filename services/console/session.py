"""The signed-in user's session: one encrypted cookie (stateless, so console pods scale out) and the CSRF check.

The cookie holds the user's own gateway token, so it is Fernet-encrypted (confidential and tamper-evident), not
just signed. Every state-changing route is a POST that depends on :data:`CsrfForm`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Depends, Request, Response
from pydantic import BaseModel, ValidationError

from shared.runtime.problems import ProblemError

from .settings import DEV_SESSION_SEED, ConsoleSettings

COOKIE = "fl_session"
STAFF_ROLES = frozenset({"specialist", "team_lead", "administrator"})


class Session(BaseModel):
    token: str
    user_id: str
    role: str
    name: str | None = None
    client_id: str | None = None
    lang: str = "en"
    csrf: str
    exp: int

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def home(self) -> str:
        return "/queues/offers" if self.staff else "/portal"


class CsrfRefused(ProblemError):
    """A state-changing request without this session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, "Forbidden", "the form is out of date or was not sent from this console")


class SignInRequired(Exception):
    """No valid session: the page answers 303 to the sign-in page, which comes back to ``next`` afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url

    @property
    def location(self) -> str:
        return "/sign-in?next=" + quote(safe_next(self.next_url), safe="/")


def safe_next(value: str | None) -> str:
    """Only a path on this console: anything else (another host, a scheme, ``//host``, ``/\\host``) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\\\r\n\t") or ":" in value.split("?", 1)[0]:
        return "/"
    return value


def fernet_key(secret: str, purpose: str = "session") -> bytes:
    """One key per purpose, so a sealed sign-in cookie can never pass for a session."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"frontline-console-{purpose}:{secret}".encode()).digest())


def session_key(settings: ConsoleSettings) -> str:
    """The configured secret, or in development one derived from a constant (production refuses that at start)."""
    return settings.session_secret.get_secret_value() if settings.session_secret else DEV_SESSION_SEED


class Sessions:
    """Seals and opens the cookie; ``now`` is injectable so tests can age a session."""

    def __init__(self, settings: ConsoleSettings, now: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.fernet = Fernet(fernet_key(session_key(settings)))
        self.pending = Fernet(fernet_key(session_key(settings), "sign-in"))  # OIDC state and the dev page's form
        self.now = now or time.time

    def new(self, token: str, user_id: str, role: str, *, name: str | None = None, client_id: str | None = None,
            lang: str = "en") -> Session:
        return Session(token=token, user_id=user_id, role=role, name=name, client_id=client_id, lang=lang,
                       csrf=secrets.token_urlsafe(24), exp=int(self.now()) + self.settings.session_ttl_seconds)

    def seal(self, session: Session) -> str:
        return self.fernet.encrypt(session.model_dump_json().encode()).decode()

    def open(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            session = Session.model_validate(json.loads(self.fernet.decrypt(value.encode())))
        except (InvalidToken, ValueError, ValidationError):
            return None
        return session if session.exp > self.now() else None

    def issue(self, response: Response, session: Session) -> None:
        response.set_cookie(COOKIE, self.seal(session), max_age=max(0, session.exp - int(self.now())), path="/",
                            httponly=True, samesite="lax", secure=self.settings.production)

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.settings.production)


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def optional_session(request: Request) -> Session | None:
    return sessions_of(request).open(request.cookies.get(COOKIE))


def current_session(request: Request) -> Session:
    session = optional_session(request)
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else "/")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]
MaybeSession = Annotated[Session | None, Depends(optional_session)]


async def check_csrf(request: Request, session: CurrentSession) -> Session:
    """The form's ``csrf_token`` (or the ``X-CSRF-Token`` header from app.js) must be this session's token."""
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfRefused()
    return session


CsrfForm = Annotated[Session, Depends(check_csrf)]
