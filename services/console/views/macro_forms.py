"""Macros in the console: the "My macros" form (a macro's reply in en and ru and its actions) and the outcome of
applying one, step by step, in words. Pure: the gateway validates macros and runs them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..gateway import GatewayProblem
from .tools import parse_tags

STEPS = ("reply", "classify", "tags", "fields", "hold", "resolve")
OUTCOMES = ("done", "rejected", "pending", "not_sent")
# The gateway's error location (``loc`` without "body", joined by dots) → the form field it belongs next to.
LOCATIONS = (("reply.en", "reply_en"), ("reply.ru", "reply_ru"), ("reply", "reply_en"), ("name", "name"),
             ("scope", "scope"), ("actions.add_tags", "add_tags"), ("actions.remove_tags", "remove_tags"),
             ("actions.resolve", "resolve_problem"), ("actions.hold", "hold_reason"),
             ("actions.classify", "classify_topic"), ("line_ids", "line_ids"), ("team_ids", "team_ids"))
TEXT_FIELDS = ("name", "reply_en", "reply_ru", "add_tags", "remove_tags", "hold_reason", "resolve_problem",
               "resolve_solution", "classify_topic", "line_ids", "team_ids")


@dataclass(frozen=True)
class MacroChoice:
    id: str
    name: str
    scope: str


def choices(macros: Any) -> list[MacroChoice]:
    return [MacroChoice(str(m["id"]), str(m.get("name") or m["id"]), str(m.get("scope") or "personal"))
            for m in macros if isinstance(m, dict) and m.get("id")] if isinstance(macros, list) else []


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _ids(form: Mapping[str, Any], name: str) -> list[str]:
    return [x for x in (_text(form, name) or "").replace(",", " ").split() if x]


def macro_body(form: Mapping[str, Any], admin: bool) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The gateway's ``MacroIn`` from the form; a missing name is caught here, the rest is the gateway's to judge."""
    if _text(form, "name") is None:
        return None, {"name": "tools.form.required"}
    scope = "shared" if admin and form.get("scope") == "shared" else "personal"
    reply = {k: v for k in ("en", "ru") if (v := _text(form, f"reply_{k}"))}
    actions: dict[str, Any] = {"add_tags": parse_tags(form.get("add_tags")),
                               "remove_tags": parse_tags(form.get("remove_tags"))}
    if form.get("hold") == "yes":
        actions["hold"] = {"reason": _text(form, "hold_reason")}
    if _text(form, "resolve_problem") or _text(form, "resolve_solution"):
        actions["resolve"] = {"problem": _text(form, "resolve_problem") or "",
                              "solution": _text(form, "resolve_solution") or ""}
    if topic := _text(form, "classify_topic"):
        actions["classify"] = {"classification": {"topic": topic}}
    body: dict[str, Any] = {"name": _text(form, "name"), "scope": scope, "reply": reply or None, "actions": actions}
    if scope == "shared":
        body |= {"line_ids": _ids(form, "line_ids"), "team_ids": _ids(form, "team_ids")}
    return body, {}


def macro_values(macro: Mapping[str, Any]) -> dict[str, str]:
    """A stored macro as the form's values, for editing."""
    reply, acts = macro.get("reply") or {}, macro.get("actions") or {}
    resolve, hold = acts.get("resolve") or {}, acts.get("hold")
    return {"name": str(macro.get("name") or ""), "scope": str(macro.get("scope") or "personal"),
            "reply_en": reply.get("en") or "", "reply_ru": reply.get("ru") or "",
            "add_tags": " ".join(acts.get("add_tags") or []), "remove_tags": " ".join(acts.get("remove_tags") or []),
            "hold": "yes" if hold is not None else "", "hold_reason": (hold or {}).get("reason") or "",
            "resolve_problem": resolve.get("problem") or "", "resolve_solution": resolve.get("solution") or "",
            "classify_topic": ((acts.get("classify") or {}).get("classification") or {}).get("topic") or "",
            "line_ids": " ".join(macro.get("line_ids") or []), "team_ids": " ".join(macro.get("team_ids") or [])}


def macro_errors(exc: GatewayProblem) -> dict[str, str]:
    """Each of the gateway's 422 errors next to its field; one that names no field goes to the form (``form``)."""
    out: dict[str, str] = {}
    for e in exc.errors:
        where = ".".join(str(p) for p in e.get("loc", []) if p != "body")
        name = next((f for prefix, f in LOCATIONS if where == prefix or where.startswith(prefix + ".")), "form")
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        out[name] = f"{out[name]}; {msg}" if name in out else msg
    if not out and exc.detail:
        out["form"] = exc.detail
    return out


def applied(raw: str | None) -> list[tuple[str, str]]:
    """``?applied=reply.done,tags.done`` (the apply route's redirect) → the steps' (name, outcome), only known ones."""
    out = []
    for part in (raw or "").split(",")[:len(STEPS)]:
        step, _, outcome = part.partition(".")
        if step in STEPS and outcome in OUTCOMES:
            out.append((step, outcome))
    return out


def applied_query(result: Any) -> str:
    steps = result.get("steps") if isinstance(result, dict) else None
    return ",".join(f"{s.get('step')}.{s.get('outcome')}" for s in steps or [] if isinstance(s, dict))
