"""How the console answers what went wrong: a page in words for people, a problem body for scripts.

A gateway 401 means the session's token is no longer good: the cookie is cleared and the user signs in again.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.runtime.problems import ProblemError, problem_response

from .gateway import GatewayProblem, GatewayUnauthorized, GatewayUnavailable
from .i18n import t
from .pages import lang_of, render
from .session import CsrfRefused, SignInRequired, optional_session, sessions_of

GATEWAY_WORDS = {403: "error.forbidden", 404: "error.not_found", 409: "error.conflict", 412: "error.conflict",
                 422: "error.invalid"}


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.headers.get("x-requested-with") == "fetch"


def gateway_words(exc: GatewayProblem, lang: str) -> str:
    """The gateway's refusal as a sentence (its detail says what, e.g. someone else claimed it first)."""
    if isinstance(exc, GatewayUnavailable) or exc.status >= 500:
        return t("error.unavailable", lang)
    detail = exc.detail or exc.title
    if exc.errors and exc.status == 422:
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'body'}: {e.get('msg', '')}"
                           for e in exc.errors[:5])
    return t(GATEWAY_WORDS.get(exc.status, "error.other"), lang, detail=detail)


def error_page(request: Request, status: int, message: str) -> Response:
    session = optional_session(request)
    return render(request, session, "error.html", status_code=status, message=message)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(GatewayUnauthorized)
    async def _expired(request: Request, exc: GatewayUnauthorized) -> Response:
        path = request.url.path if request.method == "GET" else "/"
        response = RedirectResponse(SignInRequired(path).location, status_code=303)
        sessions_of(request).clear(response)
        return response

    @app.exception_handler(GatewayProblem)
    async def _gateway(request: Request, exc: GatewayProblem) -> Response:
        status = exc.status if 400 <= exc.status < 500 else 502 if exc.status != 503 else 503
        message = gateway_words(exc, lang_of(request, optional_session(request)))
        if wants_html(request):
            return error_page(request, status, message)
        return problem_response(status, exc.title, message, str(request.url.path), errors=exc.errors or None)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if wants_html(request):
            lang = lang_of(request, optional_session(request))
            words = t("error.csrf", lang) if isinstance(exc, CsrfRefused) else exc.detail or exc.title
            return error_page(request, exc.status, words)
        return problem_response(exc.status, exc.title, exc.detail, str(request.url.path), exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request) and exc.status_code == 404:
            return error_page(request, 404, t("error.not_found", lang_of(request, optional_session(request)),
                                              detail=request.url.path))
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "HTTP error")
        return problem_response(exc.status_code, title, exc.detail if isinstance(exc.detail, str) else None,
                                str(request.url.path), exc.headers)
