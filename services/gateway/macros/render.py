"""A macro's texts are Jinja2 written by agents: rendered in the shared sandbox, seeing only the declared fields.

A text is checked when the macro is saved: it must parse, name no variable outside :data:`VARIABLES` and render
with the sample values (which is where the sandbox refuses attribute escapes). Rendering for a ticket uses
``StrictUndefined``, so a field the text needs and the ticket lacks is a refusal in words, never an empty gap.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, meta

from shared.contracts.schemas.common import MAX_TEXT
from shared.runtime.sandbox import TemplateSandbox

# variable -> (meaning, sample value the text is tried with when saved)
VARIABLES: dict[str, tuple[str, Any]] = {
    "ticket_id": ("the ticket's id", "7d6f3c1e-0000-4000-8000-000000000001"),
    "number": ("the ticket's number", 1042),
    "subject": ("the ticket's subject", "Нет связи / No connection"),
    "status": ("the ticket's status", "in_progress"),
    "ticket_type": ("the ticket's type", "request"),
    "urgency": ("the ticket's urgency", "normal"),
    "priority": ("the ticket's priority", "normal"),
    "topic": ("the classification's topic", "internet"),
    "product": ("the classification's product", "fiber"),
    "tags": ("the ticket's tags (a list)", ["vip"]),
    "fields": ("the ticket's custom field values by field id", {"devices": 3}),
    "client_name": ("the client organisation's name", "ООО Ромашка"),
    "contract_number": ("the client's contract number", "D-77"),
    "contact_name": ("the name of who wrote", "Anna Petrova"),
    "contact_email": ("the e-mail address of who wrote", "anna@client.example"),
    "contact_phone": ("the phone of who wrote", "+79161234567"),
    "agent_name": ("the name of the agent applying the macro", "Ivan"),
}
DECLARED = frozenset(VARIABLES) | {"lang"}
# Any custom field id is a sample field: a text naming the product field must save before a ticket has one.
SAMPLE: dict[str, Any] = {name: sample for name, (_, sample) in VARIABLES.items()} | {
    "lang": "en", "fields": defaultdict(lambda: "sample", VARIABLES["fields"][1])}


class MacroTemplateError(ValueError):
    """A text that cannot be saved or rendered; the message says why, in words."""


@lru_cache(maxsize=1)
def _env() -> TemplateSandbox:
    return TemplateSandbox(autoescape=False, keep_trailing_newline=False)  # plain text: the reply's channel escapes


def check(source: str) -> None:
    """Refuse a text that does not parse, names an undeclared variable or does not render with the samples."""
    try:
        unknown = meta.find_undeclared_variables(_env().parse(source)) - DECLARED - {"self"}
    except TemplateError as exc:
        raise MacroTemplateError(f"not a valid Jinja2 template: {exc}") from None
    if unknown:
        raise MacroTemplateError(f"a macro gets no variable {', '.join(sorted(unknown))}; it gets "
                                 f"{', '.join(sorted(VARIABLES))} (and lang)")
    render(source, SAMPLE)


def render(source: str, context: dict[str, Any]) -> str:
    try:
        text = _env().from_string(source).render({k: v for k, v in context.items() if k in DECLARED}).strip()
    except Exception as exc:  # whatever an agent's text raises (sandbox, undefined, type) is a refusal, never a 500
        raise MacroTemplateError(f"the macro's text cannot be rendered: {exc}") from None
    if len(text) > MAX_TEXT:
        raise MacroTemplateError(f"the rendered text is longer than {MAX_TEXT} characters")
    return text


def context_for(ticket: dict[str, Any], agent_name: str, lang: str | None = None) -> dict[str, Any]:
    """The declared fields of one ticket document (the ledger's read model) and its client."""
    client = ticket.get("client") or {}
    sender = ticket.get("sender") or {}
    classification = ticket.get("classification") or {}
    return {
        "ticket_id": ticket.get("_id"), "number": ticket.get("number"), "subject": ticket.get("subject") or "",
        "status": ticket.get("status"), "ticket_type": ticket.get("ticket_type"), "urgency": ticket.get("urgency"),
        "priority": ticket.get("priority"), "topic": classification.get("topic"),
        "product": classification.get("product"), "tags": list(ticket.get("tags") or []),
        "fields": dict(ticket.get("custom_fields") or {}), "client_name": client.get("client_name"),
        "contract_number": client.get("contract_number"), "contact_name": sender.get("name"),
        "contact_email": sender.get("email"), "contact_phone": sender.get("phone"), "agent_name": agent_name,
        "lang": lang or ticket.get("language") or "en",
    }
