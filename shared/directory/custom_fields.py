"""Custom fields: administrators define them per ticket type; the ledger checks every value against them.

Owned by the ledger (``tickets``), which reads the directory read-only when it decides ``SetCustomFields`` and
``ResolveTicket``; the gateway writes it (validated, versioned, audited) and checks client-level values on the
clients directory with the same rules. Routing groups and SLA policies name :class:`FieldCondition`s, matched
by :func:`conditions_hold` here, so every reader agrees on what "product = X" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.schemas.tickets import FieldId
from shared.directory import register

MAX_TEXT_VALUE = 2000
MAX_OPTIONS = 500
FieldKind = Literal["text", "number", "date", "select", "multiselect"]
FieldLevel = Literal["ticket", "client"]


class FieldOption(BaseModel):
    value: str = Field(min_length=1, max_length=200)
    label: dict[str, str] = Field(default_factory=dict, description="ru/en labels")


class CustomField(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "product", "label": {"ru": "Продукт", "en": "Product"}, "kind": "select", "level": "ticket",
        "ticket_types": ["complaint", "request"], "required": True,
        "options": [{"value": "internet", "label": {"ru": "Интернет", "en": "Internet"}},
                    {"value": "tv", "label": {"ru": "Телевидение", "en": "TV"}}]}]})

    id: FieldId
    label: dict[str, str] = Field(default_factory=dict, description="ru/en labels")
    kind: FieldKind = "text"
    level: FieldLevel = Field("ticket", description="ticket: set on each ticket (SetCustomFields); client: kept on "
                                                    "the client's entry of the clients directory")
    ticket_types: list[str] = Field(default_factory=list, description="Ticket types it applies to; empty: all")
    required: bool = Field(False, description="Ticket-level: a ticket is resolved only with a value; "
                                              "a value cannot be cleared")
    options: list[FieldOption] = Field(default_factory=list, max_length=MAX_OPTIONS,
                                       description="select / multiselect: the allowed values")
    active: bool = Field(True, description="Inactive: no new values (kept ones stay on their tickets)")

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> CustomField:
        choice = self.kind in ("select", "multiselect")
        if choice and not self.options:
            raise ValueError(f"a {self.kind} field needs options")
        if not choice and self.options:
            raise ValueError(f"a {self.kind} field has no options")
        values = [o.value for o in self.options]
        if len(values) != len(set(values)):
            raise ValueError("option values must be unique")
        return self

    def applies_to(self, ticket_type: str | None) -> bool:
        return not self.ticket_types or ticket_type in self.ticket_types


class FieldCondition(BaseModel):
    """Holds when the ticket's field has one of ``values`` (a multiselect: any of its values)."""

    field: FieldId
    values: list[str] = Field(min_length=1, max_length=100)


CUSTOM_FIELDS = register("custom-fields", CustomField, "dir_custom_fields", owner="tickets",
                         description="Custom fields per ticket type (text, number, date, select, multiselect; "
                                     "ticket- or client-level), checked by the ledger; ru/en labels")


def _normalised(spec: CustomField, value: Any) -> Any:
    """The value as stored, or ValueError saying in words why it does not fit ``spec``."""
    allowed = [o.value for o in spec.options]
    if spec.kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT_VALUE:
            raise ValueError(f"{spec.id} takes text of at most {MAX_TEXT_VALUE} characters")
        return value.strip()
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{spec.id} takes a number, not {value!r}")
        return value
    if spec.kind == "date":
        try:
            if isinstance(value, str):
                return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
        raise ValueError(f"{spec.id} takes a date as YYYY-MM-DD, not {value!r}")
    if spec.kind == "select":
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{spec.id} must be one of {', '.join(allowed)}; {value!r} is not in the list")
        return value
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ValueError(f"{spec.id} takes a list of values from its options")
    outside = [v for v in items if v not in allowed]
    if outside:
        raise ValueError(f"{spec.id}: {', '.join(map(repr, outside))} not in the list ({', '.join(allowed)})")
    return list(dict.fromkeys(items))


def check_values(definitions: Iterable[CustomField], values: Mapping[str, Any], *, level: FieldLevel,
                 ticket_type: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """(the values as stored, the problems in words). A None value clears the field."""
    specs = {d.id: d for d in definitions}
    stored: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"there is no custom field {name!r}")
        elif spec.level != level:
            problems.append(f"{name} is a {spec.level}-level field, not a {level}-level one")
        elif level == "ticket" and not spec.applies_to(ticket_type):
            problems.append(f"{name} does not apply to {ticket_type} tickets")
        elif value is None:
            if spec.required:
                problems.append(f"{name} is required and cannot be cleared")
            else:
                stored[name] = None
        elif not spec.active:
            problems.append(f"{name} is no longer in use")
        else:
            try:
                stored[name] = _normalised(spec, value)
            except ValueError as exc:
                problems.append(str(exc))
    return stored, problems


def missing_required(definitions: Iterable[CustomField], ticket_type: str | None,
                     values: Mapping[str, Any]) -> list[str]:
    """Ticket-level required fields that apply to the ticket's type and have no value."""
    return sorted(d.id for d in definitions if d.level == "ticket" and d.required and d.active
                  and d.applies_to(ticket_type) and values.get(d.id) in (None, "", []))


def conditions_hold(conditions: Sequence[FieldCondition], values: Mapping[str, Any]) -> bool:
    """Every condition holds (no conditions: False, so an entry without any never matches by fields)."""
    if not conditions:
        return False
    for cond in conditions:
        value = values.get(cond.field)
        have = {str(v) for v in value} if isinstance(value, list) else ({str(value)} if value is not None else set())
        if not have & set(cond.values):
            return False
    return True
