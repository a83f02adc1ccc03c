"""Rows of a clients / contracts / contacts import (CSV or JSON) and their validation (no I/O).

One reading for every way in (``frontline import contacts``, the gateway's ``POST /admin/import/contacts``). CSV
columns (header row required): client_id, client_name, category, service_team_id, contract_number, product,
contact_id, contact_name, emails, phones, chat_ids (lists separated by ``;``). JSON: a list of such rows, or
``{"clients": [{id, name, category, service_team_id, contracts: [...], contacts: [{name, emails, phones, chat_ids,
contract_number}]}]}``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from .identity import email_key, normalise_phone


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[;\n]", str(value)) if p.strip()]


class ImportRow(BaseModel):
    client_id: str = Field(min_length=1, max_length=200)
    client_name: str = Field(min_length=1, max_length=500)
    category: str | None = Field(None, max_length=100)
    service_team_id: str | None = Field(None, max_length=200)
    contract_number: str | None = Field(None, max_length=100)
    product: str | None = Field(None, max_length=200)
    contact_id: str | None = Field(None, max_length=200)
    contact_name: str | None = Field(None, max_length=300)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    chat_ids: list[str] = Field(default_factory=list)

    @field_validator("emails", "phones", "chat_ids", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return _split(v)

    @field_validator("client_id", "client_name", "category", "service_team_id", "contract_number", "product",
                     "contact_id", "contact_name", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else (v.strip() if isinstance(v, str) else v)


@dataclass
class RowError:
    row: str
    reason: str


@dataclass
class Report:
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})[outcome] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "failed": len(self.errors), "counts": self.counts,
                "errors": [{"row": e.row, "reason": e.reason} for e in self.errors]}


def read_rows(text: str, fmt: str) -> list[tuple[str, dict[str, Any]]]:
    """(row label, raw row) pairs; labels are CSV line numbers or JSON item positions."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        return [(f"line {reader.line_num}", {k.strip(): v for k, v in row.items() if k})
                for row in reader]
    data = json.loads(text)
    if isinstance(data, dict) and "clients" in data:
        try:
            return _client_rows(data["clients"])
        except (TypeError, AttributeError):
            raise ValueError("\"clients\" must be a list of objects, their contracts and contacts lists") from None
    if isinstance(data, dict) and "rows" in data:
        data = data["rows"]
    if not isinstance(data, list):
        raise ValueError("JSON must be a list of rows, {\"rows\": [...]} or {\"clients\": [...]}")
    return [(f"item {i}", row if isinstance(row, dict) else {}) for i, row in enumerate(data, start=1)]


def _client_rows(clients: Any) -> list[tuple[str, dict[str, Any]]]:
    """Rows of the nested JSON form: one per contract and contact of each client (the client alone if neither)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for i, c in enumerate(clients, start=1):
        base = {"client_id": c.get("id"), "client_name": c.get("name"), "category": c.get("category"),
                "service_team_id": c.get("service_team_id")}
        contracts = [x if isinstance(x, dict) else {"number": x} for x in c.get("contracts", [])]
        for j, k in enumerate(contracts, start=1):
            out.append((f"client {i} contract {j}", {**base, "contract_number": k.get("number"),
                                                       "product": k.get("product")}))
        for j, p in enumerate(c.get("contacts", []), start=1):
            out.append((f"client {i} contact {j}", {
                **base, "contact_id": p.get("id"), "contact_name": p.get("name"), "emails": p.get("emails"),
                "phones": p.get("phones"), "chat_ids": p.get("chat_ids"),
                "contract_number": p.get("contract_number")}))
        if not contracts and not c.get("contacts"):
            out.append((f"client {i}", base))
    return out


def validate_row(raw: dict[str, Any], region: str) -> tuple[ImportRow | None, list[str]]:
    """The row with identities normalised, or the reasons it cannot be imported."""
    missing = [k for k in ("client_id", "client_name") if not str(raw.get(k) or "").strip()]
    if missing:
        return None, [f"{k} is required" for k in missing]
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        return None, [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
    errors: list[str] = []
    emails: list[str] = []
    for e in row.emails:
        n = email_key(e)
        if n is None:
            errors.append(f"invalid e-mail {e!r}")
        elif n not in emails:
            emails.append(n)
    phones: list[str] = []
    for p in row.phones:
        n = normalise_phone(p, region)
        if n is None:
            errors.append(f"invalid phone number {p!r}")
        elif n not in phones:
            phones.append(n)
    if row.contact_id or row.contact_name:
        if not (emails or phones or row.chat_ids) and not errors:
            errors.append("a contact person needs at least one e-mail, phone or chat id")
    return (None if errors else row.model_copy(update={"emails": emails, "phones": phones})), errors


def category_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "default"
