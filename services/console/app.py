"""Wiring of the console: settings checks, the gateway client, security headers, error pages and every route module."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from shared.runtime.bodylimit import BodyLimit
from shared.runtime.secrets import StartupSecretError, require_secret
from shared.runtime.service import service_app

from . import routes
from .errors import install_error_pages
from .gateway import GatewayClient
from .pages import STATIC
from .session import Sessions
from .settings import DEV_SESSION_SEED, ConsoleSettings
from .uploads import body_limit

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


def check_settings(settings: ConsoleSettings) -> None:
    """Production never runs the development sign-in, nor a session key anyone can read in our source."""
    if settings.production and settings.dev_sign_in:
        raise StartupSecretError("CONSOLE_DEV_SIGN_IN=true is refused with FRONTLINE_ENVIRONMENT=production: "
                                 "it lets anyone who reaches the console act as anyone on the desk")
    require_secret(settings, "CONSOLE_SESSION_SECRET", settings.session_secret, DEV_SESSION_SEED)


def route_modules() -> list[Any]:
    """Every module of ``routes`` that defines ``router``, in name order (an area adds a page by adding one)."""
    found = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        if hasattr(module, "router"):
            found.append(module)
    return found


def create_app(settings: ConsoleSettings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    check_settings(settings)
    gateway = GatewayClient(settings, transport)
    app = service_app("console", lambda: [gateway],
                      description="The web console: workspace, team board, administration, reports and the client "
                                  "portal, over the gateway's public API.")
    app.state.settings, app.state.gateway, app.state.sessions = settings, gateway, Sessions(settings)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)  # /docs sets its own, hash-pinned one
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.add_middleware(BodyLimit, limit=body_limit)  # a form, or a reply with its files, has a size
    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in route_modules():
        app.include_router(module.router)
    return app
