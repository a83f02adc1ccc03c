"""What the ticket page's daily tools need from the gateway's answers (tags, custom fields, merge, split, macros)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .macro_forms import applied, choices
from .tools import client_messages, field_inputs


def known_numbers(card: Any) -> dict[int, str]:
    """Ticket number → id of the client's tickets the client card lists (a merge target may be typed as ``#12``)."""
    card = card if isinstance(card, dict) else {}
    return {int(o["number"]): str(o["id"]) for key in ("open_tickets", "recent_tickets")
            for o in card.get(key) or [] if isinstance(o, dict) and isinstance(o.get("number"), int) and o.get("id")}


def merge_candidates(ticket: Mapping[str, Any], card: Any) -> list[tuple[int, str]]:
    """The client's other open tickets, offered as merge targets (number, subject)."""
    card = card if isinstance(card, dict) else {}
    return [(int(o["number"]), str(o.get("subject") or "")) for o in card.get("open_tickets") or []
            if isinstance(o, dict) and isinstance(o.get("number"), int) and o.get("id") != ticket.get("id")]


def tools_ctx(ticket: Mapping[str, Any], card: Any, definitions: Any, macros: Any, lang: str,
              query: Mapping[str, str]) -> dict[str, Any]:
    return {"field_inputs": field_inputs(definitions, ticket.get("custom_fields") or {}, lang,
                                         ticket.get("ticket_type")),
            "client_msgs": client_messages(ticket.get("history") or []),
            "merge_candidates": merge_candidates(ticket, card), "macro_choices": choices(macros),
            "applied": applied(query.get("applied")), "tools_done": query.get("tool")}
