"""Jinja2 templates per event type and language, and the pure preview the gateway calls.

Each ``templates/<lang>/<name>.j2`` defines ``subject`` and ``text`` blocks (and may override
``html``; ``_base.j2`` derives it from ``text``). The HTML part is rendered with autoescape on,
so client- or agent-written text cannot inject markup into mail. Subject and plain text are
not HTML: rendering them with HTML escaping would show clients ``&lt;`` instead of ``<``.
Administrators write templates too, so every one renders in the sandbox (``shared/runtime/sandbox.py``) and sees
only its documented variables (``template_context.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, Template, TemplateNotFound

from shared.contracts.notify_api import DraftOverride, PreviewOut
from shared.directory.notify import TemplateOverride, template_key
from shared.runtime.problems import ProblemError
from shared.runtime.sandbox import TemplateSandbox

from .template_context import CONTEXT, SAMPLES, unknown_variables

TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("ru", "en")


class UnknownTemplate(LookupError):
    pass


class TemplateRenderError(ValueError):
    pass


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> TemplateSandbox:
    """Shipped templates do not change while the process runs: compiled once, their files not checked again."""
    return TemplateSandbox(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=autoescape, auto_reload=False,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def template_names() -> list[str]:
    return sorted(p.stem for p in (TEMPLATE_DIR / "en").glob("*.j2"))


def _block(tmpl: Template, block: str, context: dict[str, Any]) -> str:
    return "".join(tmpl.blocks[block](tmpl.new_context(dict(context)))) if block in tmpl.blocks else ""


def _source(o: TemplateOverride) -> str:
    """An override as a child of ``_base.j2``, so its HTML part is derived (and escaped) like the shipped ones."""
    html = "{% block html %}" + o.html + "{% endblock %}" if o.html else ""
    return ('{% extends "_base.j2" %}{% block subject %}' + o.subject + "{% endblock %}{% block text %}"
            + o.text + "{% endblock %}" + html)


@lru_cache(maxsize=256)
def _compiled(autoescape: bool, source: str) -> Template:
    """An administrator's wording, compiled once per text (a changed override is a new text)."""
    return _env(autoescape).from_string(source)


def _template(env: TemplateSandbox, path: str, override: TemplateOverride | None) -> Template:
    return _compiled(env.autoescape is True, _source(override)) if override else env.get_template(path)


def render(name: str, language: str, context: dict[str, Any], override: TemplateOverride | None = None) -> Rendered:
    """Render the shipped template, or the administrator's ``override`` of it."""
    lang = language if language in LANGUAGES else "en"
    path = f"{lang}/{name}.j2"
    allowed = CONTEXT.get(name, frozenset())
    context = {**{k: v for k, v in context.items() if k in allowed}, "lang": lang}
    try:
        plain, escaped = _template(_env(False), path, override), _template(_env(True), path, override)
        subject = " ".join(_block(plain, "subject", context).split())
        text = _block(plain, "text", context).strip() + "\n"
        html = escaped.render(dict(context)).strip()
    except TemplateNotFound as exc:
        if override is None:
            raise UnknownTemplate(f"no template {name!r} for {lang!r}") from exc
        raise TemplateRenderError(f"template {name!r} ({lang}): no template {exc.name!r} to include") from exc
    except Exception as exc:  # whatever an administrator's template raises is a refusal, never a 500
        raise TemplateRenderError(f"template {name!r} ({lang}): {exc}") from exc
    return Rendered(subject=subject, text=text, html=html)


def preview(name: str, language: str, context: dict[str, Any] | None = None,
            override: TemplateOverride | None = None) -> Rendered:
    """Render with the sample context, overridden by ``context``: what admins see before saving."""
    if name not in SAMPLES:
        raise UnknownTemplate(f"no template {name!r}")
    unknown = unknown_variables(name, context or {})
    if unknown:
        raise TemplateRenderError(f"template {name!r} gets no variable {', '.join(unknown)}; "
                                  f"it gets {', '.join(sorted(CONTEXT[name]))} (and lang)")
    return render(name, language, {**SAMPLES[name], **(context or {})}, override)


def preview_out(name: str, language: str, context: dict[str, Any] | None,
                override: TemplateOverride | None) -> PreviewOut:
    """A preview as an HTTP answer (notify's own API and the gateway's): unknown → 404, broken → 422."""
    try:
        out = preview(name, language, context, override)
    except UnknownTemplate as exc:
        raise ProblemError(404, "Not Found", str(exc)) from exc
    except TemplateRenderError as exc:
        raise ProblemError(422, "Template cannot be rendered", str(exc)) from exc
    return PreviewOut(name=name, language=language, subject=out.subject, text=out.text, html=out.html,
                      overridden=override is not None)


def draft_override(name: str, language: str, draft: DraftOverride) -> TemplateOverride:
    if name not in SAMPLES:
        raise ProblemError(404, "Not Found", f"no template {name!r}")
    try:
        return TemplateOverride(id=template_key(name, language), **draft.model_dump())
    except ValueError as exc:
        raise ProblemError(422, "Invalid template", str(exc)) from exc
