"""Jinja2 templates per event type and language, and the pure preview the gateway calls.

Each ``templates/<lang>/<name>.j2`` defines ``subject`` and ``text`` blocks (and may override
``html``; ``_base.j2`` derives it from ``text``). The HTML part is rendered with autoescape on,
so client- or agent-written text cannot inject markup into mail. Subject and plain text are
not HTML: rendering them with HTML escaping would show clients ``&lt;`` instead of ``<``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateNotFound
from pydantic import BaseModel, ConfigDict, Field

from shared.directory.notify import TemplateOverride, template_key
from shared.problems import ProblemError

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
def _env(autoescape: bool) -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=autoescape,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def template_names() -> list[str]:
    return sorted(p.stem for p in (TEMPLATE_DIR / "en").glob("*.j2"))


def _block(tmpl: Template, block: str, context: dict[str, Any]) -> str:
    return "".join(tmpl.blocks[block](tmpl.new_context(dict(context)))) if block in tmpl.blocks else ""


def _source(o: TemplateOverride) -> str:
    """An override as a child of ``_base.j2``, so its HTML part is derived (and escaped) like the shipped ones."""
    html = "{% block html %}" + o.html + "{% endblock %}" if o.html else ""
    return ('{% extends "_base.j2" %}{% block subject %}' + o.subject + "{% endblock %}{% block text %}"
            + o.text + "{% endblock %}" + html)


def _template(env: Environment, path: str, override: TemplateOverride | None) -> Template:
    return env.from_string(_source(override)) if override else env.get_template(path)


def render(name: str, language: str, context: dict[str, Any], override: TemplateOverride | None = None) -> Rendered:
    """Render the shipped template, or the administrator's ``override`` of it."""
    lang = language if language in LANGUAGES else "en"
    path = f"{lang}/{name}.j2"
    context = {"lang": lang, **context}
    try:
        plain, escaped = _template(_env(False), path, override), _template(_env(True), path, override)
        subject = " ".join(_block(plain, "subject", context).split())
        text = _block(plain, "text", context).strip() + "\n"
        html = escaped.render(dict(context)).strip()
    except TemplateNotFound as exc:
        raise UnknownTemplate(f"no template {name!r} for {lang!r}") from exc
    except (TemplateError, TypeError, ValueError) as exc:
        raise TemplateRenderError(f"template {name!r} ({lang}): {exc}") from exc
    return Rendered(subject=subject, text=text, html=html)


_TICKET = {"ticket_id": "7d6f3c1e-0000-4000-8000-000000000001", "number": 1042, "subject": "Нет связи / No connection",
           "ticket_url": "https://desk.example/tickets/1042", "client_name": "Anna Petrova", "agent_name": "Ivan",
           "service_type": "air", "recipient_name": "Olga", "reason": "team_lead"}

SAMPLES: dict[str, dict[str, Any]] = {
    "ticket_opened": {**_TICKET, "text": "The line has been down since morning."},
    "client_message": {**_TICKET, "text": "Any news? <b>still down</b>"},
    "ticket_assigned": {**_TICKET, "mode": "auto"},
    "ticket_taken": dict(_TICKET),
    "reply": {**_TICKET, "text": "We have restarted your port; please check again."},
    "ticket_resolved": {**_TICKET, "problem": "No connection", "solution": "Port restarted"},
    "lead_alert": {**_TICKET, "alert_reason": "assignee_unavailable", "detail": None, "assignee_name": "Ivan"},
    "escalation": {**_TICKET, "step": 2, "escalation_reason": "not in progress for 24 h", "action": "notify"},
    "sla_warning": {**_TICKET, "target": "resolution", "due_at": "2026-03-02T18:00:00+00:00"},
    "sla_breached": {**_TICKET, "target": "first_response", "due_at": "2026-03-02T10:15:00+00:00"},
    "deadline_reminder": {**_TICKET, "reason": "assignee", "deadline": "2026-03-03T18:00:00+00:00",
                          "remaining_minutes": 90},
    "survey": {**_TICKET, "survey_id": "s-1", "problem": "No connection", "solution": "Port restarted",
               "links": {"good": "https://desk.example/s/1/good", "bad": "https://desk.example/s/1/bad",
                         "not_mine": "https://desk.example/s/1/not_mine"}},
    "fraud_alert": {**_TICKET, "survey_id": "s-1", "suspect_name": "Ivan"},
}


def preview(name: str, language: str, context: dict[str, Any] | None = None,
            override: TemplateOverride | None = None) -> Rendered:
    """Render with the sample context, overridden by ``context``: what admins see before saving."""
    if name not in SAMPLES:
        raise UnknownTemplate(f"no template {name!r}")
    return render(name, language, {**SAMPLES[name], **(context or {})}, override)


class PreviewOut(BaseModel):
    name: str
    language: str
    subject: str
    text: str
    html: str
    overridden: bool = Field(False, description="Rendered from the administrators' override, not the shipped file")


_DRAFT_EXAMPLE: dict[str, Any] = {
    "subject": "[#{{ number }}] Как мы справились с вашим обращением?",
    "text": ("Здравствуйте{% if client_name %}, {{ client_name }}{% endif %}!\n\n"
             "Обращение №{{ number }} решено{% if solution %}: {{ solution }}{% endif %}.\n"
             "Хорошо: {{ links.good }}\nПлохо: {{ links.bad }}\nЯ не обращался: {{ links.not_mine }}")}


class DraftOverride(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DRAFT_EXAMPLE]})

    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    html: str | None = Field(None, max_length=50_000)


class PreviewIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"language": "ru", "context": {"client_name": "ООО «Вектор Тур»", "number": 2077},
         "draft": _DRAFT_EXAMPLE}]})

    language: Literal["ru", "en"] = "ru"
    context: dict[str, Any] = Field(default_factory=dict, description="Variables over the sample context")
    draft: DraftOverride | None = Field(None, description="Unsaved wording to try; else the saved override or file")


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
