"""The ticket page's daily tools (issue 22): tags, custom fields, merge and split. Pure view logic: what the forms
show and the gateway bodies they make; the gateway and the ledger judge the rest, their refusals come back in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..gateway import GatewayProblem
from ..i18n import t
from .ticket import refusal

REQUIRED = "tools.form.required"
_TAG_SPLIT = re.compile(r"[\s,;]+")
_FIELD_NAME = re.compile(r"^(?:there is no custom field )?'?([a-z][a-z0-9_]*)'?\b")
INPUT_TYPES = {"text": "text", "number": "number", "date": "date"}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class FieldInput:
    id: str
    label: str
    kind: str  # text | number | date | select | multiselect
    required: bool
    value: str
    options: tuple[Option, ...] = ()

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.kind, "text")


def _label(labels: Any, lang: str, fallback: str) -> str:
    labels = labels if isinstance(labels, dict) else {}
    return str(labels.get(lang) or labels.get("en") or labels.get("ru") or fallback)


def _applies(d: Any, ticket_type: str | None) -> bool:
    return (isinstance(d, dict) and bool(d.get("id")) and d.get("level", "ticket") == "ticket"
            and (not d.get("ticket_types") or ticket_type in d["ticket_types"]))


def field_inputs(definitions: Any, current: Mapping[str, Any], lang: str, ticket_type: str | None = None,
                 sent: Mapping[str, Any] | None = None) -> list[FieldInput]:
    """One input per ticket-level field of the gateway's ``GET /custom-fields`` that applies to the ticket's type,
    showing the value the form sent (a refused form comes back as it was) or the ticket's own."""
    out = []
    for d in definitions if isinstance(definitions, list) else []:
        if not _applies(d, ticket_type):
            continue
        fid = str(d["id"])
        value = sent.get(fid) if sent is not None and fid in sent else current.get(fid)
        chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)} if value is not None else set()
        options = tuple(Option(v, _label(o.get("label"), lang, v), v in chosen) for o in d.get("options") or []
                        if isinstance(o, dict) and (v := str(o.get("value") or "")))
        text = "" if value is None or isinstance(value, list) else str(value)
        out.append(FieldInput(fid, _label(d.get("label"), lang, fid), str(d.get("kind") or "text"),
                              bool(d.get("required")), text, options))
    return out


def _number(raw: str) -> int | float | str:
    """A number as JSON; a string the user typed that is no number goes as typed, for the ledger to say why."""
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def parse_fields(form: Any, definitions: Any, current: Mapping[str, Any], ticket_type: str | None = None
                 ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The ``values`` of ``POST /tickets/{id}/fields``: only what changed; a blank clears a field that had a value."""
    values: dict[str, Any] = {}
    for f in field_inputs(definitions, current, "en", ticket_type):
        if f.kind == "multiselect":
            given: Any = [v for v in form.getlist(f.id) if isinstance(v, str) and v] or None
        else:
            raw = form.get(f.id)
            text = raw.strip() if isinstance(raw, str) else ""
            given = None if not text else _number(text) if f.kind == "number" else text
        if given != current.get(f.id) and not (given is None and current.get(f.id) in (None, "", [])):
            values[f.id] = given
    if not values:
        return None, {"fields": "tools.form.unchanged"}
    return {"values": values}, {}


def field_errors(detail: str | None, ids: list[str]) -> dict[str, str]:
    """The ledger's refusal ("devices takes a number, not 'x'; since takes a date ...") split next to each field;
    a sentence naming no field of the form goes to the form as a whole."""
    out: dict[str, str] = {}
    for sentence in (detail or "").split("; "):
        found = _FIELD_NAME.match(sentence)
        name = found.group(1) if found and found.group(1) in ids else "fields"
        out[name] = f"{out[name]}; {sentence}" if name in out else sentence
    return {k: v for k, v in out.items() if v}


def parse_tags(raw: Any) -> list[str]:
    """Tags as typed: separated by spaces, commas or semicolons, lower-case (as the gateway stores them)."""
    text = raw if isinstance(raw, str) else ""
    return list(dict.fromkeys(t.lower() for t in _TAG_SPLIT.split(text) if t))


def tag_param(raw: str | None) -> dict[str, str]:
    """A queue's tag filter as the gateway takes it (one tag, lower-case); blank: no filter."""
    tags = parse_tags((raw or "")[:50])
    return {"tag": tags[0]} if tags else {}


def tags_body(form: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    add = parse_tags(form.get("add"))
    remove = [t for t in form.getlist("remove") if isinstance(t, str) and t]
    if not add and not remove:
        return None, {"add": REQUIRED}
    return {"add": add, "remove": remove}, {}


def ticket_number(raw: Any) -> int | None:
    """``#12`` or ``12`` typed as a merge target is a ticket number; anything else is a ticket id."""
    digits = raw.strip().removeprefix("#").strip() if isinstance(raw, str) else ""
    return int(digits) if digits.isdigit() and len(digits) < 16 else None


def merge_target(raw: Any, known: Mapping[int, str]) -> str | None:
    """The target's id: a number looked up in ``known`` (number → id of tickets found for it), else the id typed."""
    number = ticket_number(raw)
    if number is not None:
        return known.get(number)
    return raw.strip() or None if isinstance(raw, str) else None


def merge_body(form: Any, target_id: str | None, lead: bool) -> tuple[dict[str, Any] | None, dict[str, str]]:
    raw = form.get("target")
    if not isinstance(raw, str) or not raw.strip():
        return None, {"target": REQUIRED}
    if target_id is None:
        return None, {"target": "tools.merge.unknown_number"}
    reason = form.get("reason")
    return {"target_id": target_id, "reason": reason.strip() or None if isinstance(reason, str) else None,
            "confirm_cross_client": lead and form.get("confirm_cross_client") == "yes"}, {}


@dataclass(frozen=True)
class ClientMessage:
    message_id: str
    at: str
    author: str
    excerpt: str


def client_messages(history: list[dict[str, Any]]) -> list[ClientMessage]:
    """The client messages a split may take (``content.message_id`` of each MessageReceived)."""
    out = []
    for h in history:
        content = (h.get("payload") or {}).get("content") or {}
        if h.get("type") == "MessageReceived" and content.get("message_id"):
            sender = content.get("sender") or {}
            text = str(content.get("text") or "")
            out.append(ClientMessage(str(content["message_id"]), str(h.get("occurred_at") or "")[:16].replace("T", " "),
                                     str(sender.get("name") or sender.get("email") or sender.get("phone") or ""),
                                     text[:120] + ("…" if len(text) > 120 else "")))
    return out


def split_body(form: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    ids = [m for m in form.getlist("message_ids") if isinstance(m, str) and m]
    if not ids:
        return None, {"message_ids": "tools.split.choose"}
    subject = form.get("subject")
    return {"message_ids": ids, "subject": subject.strip() or None if isinstance(subject, str) else None}, {}


TOOL_REFUSALS = frozenset({"cross_client", "already_merged", "same_ticket", "target_merged", "target_finished",
                           "sub_ticket_pair", "too_large", "unknown_messages", "already_split", "merged",
                           "tag_conflict"})


def tools_refusal(exc: GatewayProblem, lang: str) -> str:
    """Merge, split and tag refusals in words by the ledger's code; the rest as every ticket action says them."""
    if exc.code in TOOL_REFUSALS and exc.status < 500:
        return t(f"tools.reject.{exc.code}", lang, detail=exc.detail or "")
    return refusal(exc, lang)
