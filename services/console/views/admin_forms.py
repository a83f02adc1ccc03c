"""Directory forms built from each directory's JSON schema (the gateway's ``GET /admin/directories``).

Scalars are inputs, enums selects, lists of scalars one per line, localised names one input per language, and
anything nested a JSON text area. The browser checks nothing the gateway checks: its 422 names the field, and the
error is shown next to it. Inputs are named ``f.<field>`` so no field can collide with the form's own inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Kind = Literal["text", "number", "checkbox", "select", "multi", "list", "names", "json"]
NAME_LANGUAGES = ("en", "ru")
SCALARS = {"string", "integer", "number", "boolean"}


class Posted(Protocol):
    def getlist(self, key: str) -> list[Any]: ...


@dataclass(frozen=True)
class FormField:
    name: str
    title: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    integer: bool = False
    key: bool = False
    options: tuple[str, ...] = ()
    description: str | None = None
    default: Any = None

    @property
    def input_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs.get(ref.removeprefix("#/$defs/"), {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _field(name: str, prop: dict[str, Any], defs: dict[str, Any], required: bool, key: bool) -> FormField:
    node = _resolve(prop, defs)
    nullable = False
    if "anyOf" in node:
        kinds = [_resolve(a, defs) for a in node["anyOf"]]
        others = [a for a in kinds if a.get("type") != "null"]
        nullable = len(others) < len(kinds)
        node = {**others[0], **{k: v for k, v in node.items() if k != "anyOf"}} if len(others) == 1 else {}
    common: dict[str, Any] = {"name": name, "title": str(prop.get("title") or name), "required": required,
                              "nullable": nullable, "key": key, "description": prop.get("description"),
                              "default": prop.get("default", node.get("default"))}
    kind, extra = _kind(name, node, defs)
    return FormField(kind=kind, **common, **extra)


def _kind(name: str, node: dict[str, Any], defs: dict[str, Any]) -> tuple[Kind, dict[str, Any]]:
    typ = node.get("type")
    if "enum" in node:
        return "select", {"options": tuple(str(v) for v in node["enum"])}
    if typ == "boolean":
        return "checkbox", {}
    if typ in ("integer", "number"):
        return "number", {"integer": typ == "integer"}
    if typ == "string":
        return "text", {}
    if typ == "array":
        items = _resolve(node.get("items", {}), defs)
        if "enum" in items:
            return "multi", {"options": tuple(str(v) for v in items["enum"])}
        if items.get("type") in SCALARS:
            return "list", {"integer": items.get("type") == "integer"}
    if typ == "object" and name == "name" and node.get("additionalProperties") == {"type": "string"}:
        return "names", {}
    return "json", {}


def form_fields(schema: dict[str, Any], key: str) -> list[FormField]:
    """One field per property of the entry, in the schema's order; the directory's key first."""
    defs, needed = schema.get("$defs", {}), set(schema.get("required", []))
    fields = [_field(n, p, defs, n in needed or n == key, n == key) for n, p in schema.get("properties", {}).items()]
    return sorted(fields, key=lambda f: not f.key)


def form_values(fields: list[FormField], data: dict[str, Any] | None) -> dict[str, Any]:
    """What each input shows: the entry's value, else the schema's default."""
    out: dict[str, Any] = {}
    for f in fields:
        value = data.get(f.name, f.default) if data is not None else f.default
        if f.kind == "checkbox":
            out[f.name] = bool(value)
        elif f.kind == "multi":
            out[f.name] = [str(v) for v in value or []]
        elif f.kind == "list":
            out[f.name] = "\n".join(str(v) for v in value or [])
        elif f.kind == "names":
            out[f.name] = {lang: str((value or {}).get(lang, "")) for lang in NAME_LANGUAGES}
        elif f.kind == "json":
            out[f.name] = "" if value is None else json.dumps(value, ensure_ascii=False, indent=2)
        else:
            out[f.name] = "" if value is None else str(value)
    return out


def _number(text: str, integer: bool) -> Any:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return text  # the gateway says what is wrong with it, next to the field


def read_form(fields: list[FormField], form: Posted) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry's JSON from a posted form, and the fields refused before sending (key missing, JSON unreadable).

    An empty input is null where the field may be null, else left out (the default applies, or the gateway says
    the field is required)."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        name = f"f.{f.name}"
        first = str((form.getlist(name) or [""])[0]).strip()
        if f.kind == "checkbox":
            body[f.name] = bool(form.getlist(name))
        elif f.kind == "multi":
            body[f.name] = [str(v) for v in form.getlist(name) if str(v).strip()]
        elif f.kind == "list":
            items = [p.strip() for p in re.split(r"[\n,]", first) if p.strip()]
            body[f.name] = [_number(p, True) for p in items] if f.integer else items
        elif f.kind == "names":
            body[f.name] = {lang: v for lang in NAME_LANGUAGES
                            if (v := str((form.getlist(f"{name}.{lang}") or [""])[0]).strip())}
        elif not first:
            if f.key:
                errors[f.name] = "required"
            elif f.nullable:
                body[f.name] = None
        elif f.kind == "json":
            try:
                body[f.name] = json.loads(first)
            except ValueError as exc:
                errors[f.name] = f"not JSON: {exc}"
        elif f.kind == "number":
            body[f.name] = _number(first, f.integer)
        else:
            body[f.name] = first
    return body, errors


def errors_by_field(fields: list[FormField], errors: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """The gateway's 422 ``errors``: each under the field its ``loc`` starts with (a nested place said in the
    message), and those no field owns as sentences for a banner."""
    names = {f.name for f in fields}
    placed: dict[str, str] = {}
    rest: list[str] = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", [])]
        msg = str(e.get("msg", ""))
        inner = loc[1:] if loc[:1] == ["body"] else loc[1:] if loc[:1] in (["query"], ["path"]) else loc
        if loc[:1] == ["body"] and inner and inner[0] in names:
            where = ".".join(inner[1:])
            placed.setdefault(inner[0], f"{where}: {msg}" if where else msg)
        else:
            rest.append(f"{'.'.join(inner)}: {msg}" if inner else msg)
    return placed, rest
