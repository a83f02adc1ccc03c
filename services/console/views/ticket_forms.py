"""The ticket page's forms: each action's gateway path and the JSON body built from its form fields.

A required field left blank is caught here (shown next to its field, the gateway never asked); everything else is
the gateway's to judge, and its 422 errors come back next to the same fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.contracts.schemas.common import TicketType

Form = Mapping[str, Any]
Built = tuple[dict[str, Any] | None, dict[str, str]]
REQUIRED = "ticket.form.required"
TICKET_TYPES = tuple(t.value for t in TicketType)


def _text(form: Form, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _required(form: Form, *names: str) -> dict[str, str]:
    return {n: REQUIRED for n in names if _text(form, n) is None}


def _none(form: Form) -> Built:
    return None, {}


def _message(form: Form) -> Built:
    missing = _required(form, "text")
    return (None, missing) if missing else ({"text": _text(form, "text")}, {})


def _reason(form: Form) -> Built:
    return {"reason": _text(form, "reason")}, {}


def _classify(form: Form) -> Built:
    parts = {k: v for k in ("topic", "type", "subtopic", "product") if (v := _text(form, k))}
    if not parts:
        return None, {"topic": REQUIRED}
    ticket_type = _text(form, "ticket_type")
    if ticket_type is not None and ticket_type not in TICKET_TYPES:
        return None, {"ticket_type": "ticket.form.choose"}
    return {"classification": parts, "ticket_type": ticket_type, "urgency": _text(form, "urgency")}, {}


def _subticket(form: Form) -> Built:
    missing = _required(form, "summary")
    return (None, missing) if missing else ({"summary": _text(form, "summary")}, {})


def _resolve(form: Form) -> Built:
    missing = _required(form, "problem", "solution")
    return (None, missing) if missing else ({"problem": _text(form, "problem"), "solution": _text(form, "solution")},
                                            {})


def _link(form: Form) -> Built:
    missing = _required(form, "client_id")
    if missing:
        return None, missing
    client = {"client_id": _text(form, "client_id")}
    if contract := _text(form, "contract_number"):
        client["contract_number"] = contract
    return {"client": client, "reason": _text(form, "reason")}, {}


def _callback(form: Form) -> Built:
    answered = form.get("answered")
    if answered not in ("yes", "no"):
        return None, {"answered": "ticket.form.choose"}
    return {"answered": answered == "yes", "comment": _text(form, "comment"), "phone": _text(form, "phone")}, {}


# console action → (the gateway's action path under /tickets/{id}/, the body builder)
ACTIONS: dict[str, tuple[str, Callable[[Form], Built]]] = {
    "claim": ("claim", _none), "start": ("start", _none), "reply": ("reply", _message), "note": ("notes", _message),
    "hold": ("hold", _reason), "resume": ("resume", _reason), "classify": ("classification", _classify),
    "escalate": ("escalate", _reason), "subticket": ("subtickets", _subticket), "resolve": ("resolve", _resolve),
    "reopen": ("reopen", _reason), "close": ("close", _reason), "link": ("link-client", _link),
    "callback": ("callbacks", _callback),
}
WITH_FILES = frozenset({"reply", "note"})


def build(action: str, form: Form) -> Built:
    """The body for ``action`` (None: the action takes none) and the fields that need the user's attention."""
    return ACTIONS[action][1](form)
