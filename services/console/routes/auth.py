"""Signing in and out, and the language switch."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from .. import oidc
from ..gateway import GatewayProblem, gateway_of
from ..i18n import LANGUAGES, from_accept_language
from ..pages import render
from ..people import console_admin, desk_people, token_for
from ..session import CsrfForm, Session, safe_next, sessions_of
from ..settings import ConsoleSettings

router = APIRouter()
DEV_FORM_COOKIE = "fl_signin"  # double-submit token of the dev page's form (there is no session yet)
Next = Annotated[str, Query(alias="next", max_length=2000)]


def settings_of(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


async def start_session(request: Request, token: str, next_url: str) -> Response:
    """Ask the gateway who the token is (``/me``), then seal the session and go to ``next_url``."""
    me = await gateway_of(request).as_user(token).get("/me")
    sessions = sessions_of(request)
    session = sessions.new(token, str(me["user_id"]), str(me["role"]), name=me.get("name"),
                           client_id=me.get("client_id"),
                           lang=from_accept_language(request.headers.get("accept-language")))
    target = safe_next(next_url)
    response = RedirectResponse(session.home if target == "/" else target, status_code=303)
    sessions.issue(response, session)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, next_url: Next = "/") -> HTMLResponse:
    settings = settings_of(request)
    return render(request, None, "auth/sign_in.html", next_url=safe_next(next_url), oidc=settings.oidc_enabled,
                  dev=settings.dev_sign_in)


@router.get("/sign-in/oidc")
async def oidc_start(request: Request, next_url: Next = "/") -> Response:
    settings = settings_of(request)
    if not settings.oidc_enabled:
        raise ProblemError(404, "Not Found", "OIDC sign-in is not configured")
    url, cookie = oidc.start(settings, sessions_of(request).pending, safe_next(next_url))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(oidc.COOKIE, cookie, max_age=oidc.PENDING_SECONDS, path="/auth/callback", httponly=True,
                        samesite="lax", secure=settings.production)
    return response


@router.get("/auth/callback", response_class=HTMLResponse)
async def oidc_callback(request: Request, code: str | None = None, state: str | None = None,
                        error: str | None = None) -> Response:
    settings = settings_of(request)
    if not settings.oidc_enabled:
        raise ProblemError(404, "Not Found", "OIDC sign-in is not configured")
    try:
        pending = oidc.resume(sessions_of(request).pending, request.cookies.get(oidc.COOKIE), state)
        if error or not code:
            raise oidc.OidcError("signin.provider_refused", error or "no code")
        token = await oidc.exchange(settings, gateway_of(request).http_client(), code, pending)
        response = await start_session(request, token, pending.next_url)
    except oidc.OidcError as exc:
        response = _failed(request, exc.reason)
    except GatewayProblem:
        response = _failed(request, "signin.desk_refused")
    response.delete_cookie(oidc.COOKIE, path="/auth/callback")  # single use, whatever happened
    return response


def _failed(request: Request, reason: str) -> HTMLResponse:
    settings = settings_of(request)
    return render(request, None, "auth/sign_in.html", status_code=400, next_url="/", oidc=settings.oidc_enabled,
                  dev=settings.dev_sign_in, failure=reason)


def _dev_only(request: Request) -> ConsoleSettings:
    settings = settings_of(request)
    if not settings.dev_sign_in:
        raise ProblemError(404, "Not Found")
    return settings


@router.get("/sign-in/dev", response_class=HTMLResponse)
async def dev_page(request: Request, next_url: Next = "/") -> HTMLResponse:
    settings = _dev_only(request)
    people, problem = [], None
    try:
        people = await desk_people(console_admin(settings, gateway_of(request)))
    except GatewayProblem as exc:
        problem = exc.detail or exc.title
    form_token = secrets.token_urlsafe(24)
    response = render(request, None, "auth/dev.html", people=people, problem=problem, next_url=safe_next(next_url),
                      form_token=form_token)
    response.set_cookie(DEV_FORM_COOKIE, form_token, max_age=600, path="/sign-in/dev", httponly=True,
                        samesite="lax", secure=settings.production)
    return response


@router.post("/sign-in/dev")
async def dev_pick(request: Request, person: Annotated[str, Form(max_length=300)],
                   form_token: Annotated[str, Form(max_length=100)],
                   next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/") -> Response:
    settings = _dev_only(request)
    cookie = request.cookies.get(DEV_FORM_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), form_token.encode()):
        raise ProblemError(403, "Forbidden", "the sign-in form was not sent from this console")
    # The claims come from the desk's directory, never from the form: the form only names whom to look up.
    chosen = next((p for p in await desk_people(console_admin(settings, gateway_of(request))) if p.key == person),
                  None)
    if chosen is None:
        raise ProblemError(422, "Unprocessable Content", "no such person on this desk")
    response = await start_session(request, token_for(settings, chosen), next_url)
    response.delete_cookie(DEV_FORM_COOKIE, path="/sign-in/dev")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: CsrfForm) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    sessions_of(request).clear(response)
    return response


@router.post("/lang/{code}")
async def switch_language(code: str, request: Request, session: CsrfForm) -> Response:
    if code not in LANGUAGES:
        raise ProblemError(404, "Not Found", f"no language {code!r}")
    form = await request.form()
    back = form.get("next")
    response = RedirectResponse(safe_next(back if isinstance(back, str) else "/"), status_code=303)
    sessions = sessions_of(request)
    sessions.issue(response, Session.model_validate({**session.model_dump(), "lang": code}))
    return response

