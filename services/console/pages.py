"""Server-rendered pages: one Jinja2 environment (autoescape on) and ``render`` that gives every template its tools."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .i18n import LANGUAGES, from_accept_language, language, t
from .session import Session
from .views.queues import QUEUES

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The pages are shipped files, but they render what the desk's users wrote: a sandbox like every other template's.
env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"], default=True),
                         trim_blocks=True, lstrip_blocks=True)
env.globals["queues"] = QUEUES  # the workspace nav in base.html, on every staff page


@cache
def static(path: str) -> str:
    """The URL of a static asset, versioned by its content so browsers may keep it."""
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


def lang_of(request: Request, session: Session | None) -> str:
    return language(session.lang) if session else from_accept_language(request.headers.get("accept-language"))


def render(request: Request, session: Session | None, template: str, status_code: int = 200,
           **ctx: Any) -> HTMLResponse:
    lang = lang_of(request, session)

    def tr(key: str, **fmt: Any) -> str:
        return t(key, lang, **fmt)

    html = env.get_template(template).render(
        request=request, session=session, lang=lang, languages=LANGUAGES, t=tr, static=static,
        csrf=session.csrf if session else "", path=request.url.path, **ctx)
    return HTMLResponse(html, status_code=status_code)
