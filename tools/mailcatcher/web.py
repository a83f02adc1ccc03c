"""The mail catcher's page and JSON API, for people and for tests.

What it shows was written by strangers, so the page is rendered by a sandboxed Jinja2 with autoescape, runs no
script (its Content-Security-Policy forbids any), and answers only requests addressed to a loopback name, so a
web page that points its own domain at 127.0.0.1 cannot read the messages.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime.mailstore import MailStore

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}
article{border:1px solid #ccc;border-radius:4px;margin:0 0 1em;padding:.5em 1em}
h2{font-size:1.05em;margin:.3em 0}.meta{color:#666;font-size:.9em}
.channel{font-weight:bold;text-transform:uppercase;margin-right:.5em}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5em}
"""
LABELS = {
    "en": {"title": "Frontline mail catcher", "nothing": "Nothing yet.", "no_subject": "(no subject)", "from": "from",
           "to": "to", "about": "What notify would have sent (e-mail, SMS, chat), kept on this machine in",
           "order": "newest first"},
    "ru": {"title": "Перехватчик почты Frontline", "nothing": "Пока ничего нет.", "no_subject": "(без темы)",
           "from": "от", "to": "кому", "about": "Что notify отправил бы (почта, SMS, чат), хранится на этой машине в",
           "order": "новые сверху"},
}
_pages = ImmutableSandboxedEnvironment(loader=FileSystemLoader(Path(__file__).parent),
                                       autoescape=select_autoescape(default=True, default_for_string=True))


class SecurityHeaders:
    """The same strict headers on every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def web_app(store: MailStore) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        language = "ru" if request.headers.get("accept-language", "").lower().startswith("ru") else "en"
        html = _pages.get_template("page.html.j2").render(messages=store.messages(), directory=str(store.directory),
                                                          t=LABELS[language], language=language)
        return HTMLResponse(html)

    async def listing(request: Request) -> JSONResponse:
        channel, to = request.query_params.get("channel"), request.query_params.get("to")
        kept = [k for k in store.messages() if (not channel or k.channel == channel) and (not to or to in k.to)]
        return JSONResponse([k.model_dump(mode="json") for k in kept])

    async def one(request: Request) -> JSONResponse:
        kept = store.get(request.path_params["id"])
        if kept is None:
            return JSONResponse({"type": "about:blank", "title": "Not Found", "status": 404},
                                status_code=404, media_type="application/problem+json")
        return JSONResponse(kept.model_dump(mode="json"))

    async def style(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    routes = [Route("/", page), Route("/style.css", style), Route("/api/messages", listing),
              Route("/api/messages/{id}", one)]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders),
                                                Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES)])
