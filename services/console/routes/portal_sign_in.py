"""A client signs in to the portal by a link mailed to his contact address (the gateway issues and redeems it).

Asking says "check your mail" whatever the gateway knows, as the gateway does. The link's page only shows a button:
redeeming is a POST, so a mail scanner that fetches every link in a message cannot spend the single-use token.
Both forms carry a double-submit token (there is no session yet), so another site cannot sign a visitor in to an
account of its choosing.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import GatewayProblem, GatewayUnavailable, gateway_of, problem_of
from ..pages import lang_of, render
from ..session import MaybeSession
from .auth import settings_of, start_session

router = APIRouter()
FORM_COOKIE = "fl_portal_form"  # double-submit token of the two sign-in forms
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # the gateway's link tokens: 256 bits, URL-safe base64
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _page(request: Request, template: str, status_code: int = 200, **ctx: object) -> HTMLResponse:
    """A sign-in page with a fresh form token, set as the cookie the POST must echo."""
    form_token = secrets.token_urlsafe(24)
    response = render(request, None, template, status_code, form_token=form_token,
                      oidc=settings_of(request).oidc_enabled, **ctx)
    response.set_cookie(FORM_COOKIE, form_token, max_age=1800, path="/portal", httponly=True, samesite="lax",
                        secure=settings_of(request).production)
    return response


def _check_form(request: Request, form_token: str) -> None:
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), form_token.encode()):
        raise ProblemError(403, "Forbidden", "the sign-in form was not sent from this console")


def _forwarded_for(request: Request) -> str:
    """The browser's address for the gateway's per-caller limit (believed only if the gateway trusts the console)."""
    peer = request.client.host if request.client else "unknown"
    earlier = request.headers.get("x-forwarded-for", "")
    return f"{earlier}, {peer}" if earlier else peer


@router.get("/portal/sign-in", response_class=HTMLResponse)
async def ask_page(request: Request, session: MaybeSession) -> Response:
    if session is not None:
        return RedirectResponse(session.home, status_code=303)
    return _page(request, "portal/sign_in.html")


@router.post("/portal/sign-in", response_class=HTMLResponse)
async def ask(request: Request, email: Annotated[str, Form(max_length=320)],
              form_token: Annotated[str, Form(max_length=100)]) -> HTMLResponse:
    _check_form(request, form_token)
    email = email.strip()
    if not EMAIL.match(email):
        return _page(request, "portal/sign_in.html", 422, email=email, errors={"email": "portal.signin.bad_email"})
    http = gateway_of(request).http_client()
    try:
        resp = await http.post("/portal/sign-in-links", json={"email": email, "language": lang_of(request, None)},
                               headers={"X-Forwarded-For": _forwarded_for(request)})
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(503, "The desk is not answering", type(exc).__name__) from exc
    if resp.status_code == 429:
        seconds = int(resp.headers.get("retry-after", "3600") or 3600)
        return _page(request, "portal/sign_in.html", 429, email=email,
                     banner_key="portal.signin.too_many", minutes=max(1, -(-seconds // 60)))
    if resp.status_code == 422:
        return _page(request, "portal/sign_in.html", 422, email=email, errors={"email": "portal.signin.bad_email"})
    if resp.status_code >= 300:
        raise problem_of(resp)
    return render(request, None, "portal/sent.html")


def link_form(request: Request, token: str, template: str, words: str) -> HTMLResponse:
    """The page a single-use link opens: only a button, so a mail scanner following the link spends nothing."""
    if not TOKEN.match(token):
        return _page(request, template, 400, failure=f"{words}.bad")
    return _page(request, template, token=token)


async def spend_link(request: Request, token: str, form_token: str, template: str, words: str, api_path: str,
                     home: str) -> Response:
    """Spends a single-use link (sign-in or invitation) by a POST from this browser's form, then signs in."""
    _check_form(request, form_token)
    if not TOKEN.match(token):
        return _page(request, template, 400, failure=f"{words}.bad")
    try:
        resp = await gateway_of(request).http_client().post(api_path, json={"token": token})
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(503, "The desk is not answering", type(exc).__name__) from exc
    if resp.status_code in (410, 422):
        failure = f"{words}.gone" if resp.status_code == 410 else f"{words}.bad"
        return _page(request, template, resp.status_code, failure=failure)
    if resp.status_code >= 300:
        raise problem_of(resp)
    try:
        response = await start_session(request, str(resp.json()["access_token"]), home)
    except GatewayProblem:
        return _page(request, template, 400, failure=f"{words}.bad")
    response.delete_cookie(FORM_COOKIE, path="/portal")
    return response


@router.get("/portal/link", response_class=HTMLResponse)
async def link_page(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return link_form(request, token, "portal/link.html", "portal.link")


@router.post("/portal/link", response_class=HTMLResponse)
async def redeem(request: Request, token: Annotated[str, Form(max_length=200)],
                 form_token: Annotated[str, Form(max_length=100)]) -> Response:
    return await spend_link(request, token, form_token, "portal/link.html", "portal.link",
                            "/portal/sign-in-links/redeem", "/portal")
