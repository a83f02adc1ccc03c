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
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound

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


def _block(env: Environment, path: str, block: str, context: dict[str, Any]) -> str:
    tmpl = env.get_template(path)
    return "".join(tmpl.blocks[block](tmpl.new_context(dict(context)))) if block in tmpl.blocks else ""


def render(name: str, language: str, context: dict[str, Any]) -> Rendered:
    lang = language if language in LANGUAGES else "en"
    path = f"{lang}/{name}.j2"
    context = {"lang": lang, **context}
    try:
        subject = " ".join(_block(_env(False), path, "subject", context).split())
        text = _block(_env(False), path, "text", context).strip() + "\n"
        html = _env(True).get_template(path).render(dict(context)).strip()
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
    "survey": {**_TICKET, "survey_id": "s-1", "problem": "No connection", "solution": "Port restarted",
               "links": {"good": "https://desk.example/s/1/good", "bad": "https://desk.example/s/1/bad",
                         "not_mine": "https://desk.example/s/1/not_mine"}},
    "fraud_alert": {**_TICKET, "survey_id": "s-1", "suspect_name": "Ivan"},
}


def preview(name: str, language: str, context: dict[str, Any] | None = None) -> Rendered:
    """Render with the sample context, overridden by ``context``: what admins see before saving."""
    if name not in SAMPLES:
        raise UnknownTemplate(f"no template {name!r}")
    return render(name, language, {**SAMPLES[name], **(context or {})})
