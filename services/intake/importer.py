"""``frontline import contacts FILE``: bulk-load clients, contracts and contact persons from CSV or JSON.

Idempotent (an entry that would not change is not written again), row by row: a bad row
is reported with its number and reason and the rest are imported. CSV columns (header
row required): client_id, client_name, category, service_team_id, contract_number,
product, contact_id, contact_name, emails, phones, chat_ids (lists separated by ``;``).
JSON: a list of such rows, or ``{"clients": [{id, name, category, service_team_id,
contracts: [...], contacts: [{name, emails, phones, chat_ids, contract_number}]}]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pymongo.asynchronous.database import AsyncDatabase

from shared.directory import DirectoryStore
from shared.directory.contacts import (
    CLIENT_CATEGORIES,
    CLIENTS,
    CONTACTS,
    CONTRACTS,
    Client,
    ClientCategory,
    ContactPerson,
    Contract,
)
from shared.runtime.ids import derived_id

from .domain import normalise_email, normalise_phone


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


# ---- reading (pure) -----------------------------------------------------------------------------

def read_rows(text: str, fmt: str) -> list[tuple[str, dict[str, Any]]]:
    """(row label, raw row) pairs; labels are CSV line numbers or JSON item positions."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        return [(f"line {reader.line_num}", {k.strip(): v for k, v in row.items() if k})
                for row in reader]
    data = json.loads(text)
    if isinstance(data, dict) and "clients" in data:
        out: list[tuple[str, dict[str, Any]]] = []
        for i, c in enumerate(data["clients"], start=1):
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
    if isinstance(data, dict) and "rows" in data:
        data = data["rows"]
    if not isinstance(data, list):
        raise ValueError("JSON must be a list of rows, {\"rows\": [...]} or {\"clients\": [...]}")
    return [(f"item {i}", row if isinstance(row, dict) else {}) for i, row in enumerate(data, start=1)]


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
        n = normalise_email(e)
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


# ---- writing ------------------------------------------------------------------------------------

class Importer:
    def __init__(self, db: AsyncDatabase, *, actor: str = "import", at: datetime | None = None) -> None:
        self.db, self.actor, self.at = db, actor, at or datetime.now(UTC)
        self.categories = DirectoryStore(db, CLIENT_CATEGORIES)
        self.clients = DirectoryStore(db, CLIENTS)
        self.contracts = DirectoryStore(db, CONTRACTS)
        self.contacts = DirectoryStore(db, CONTACTS)

    async def _put(self, store: DirectoryStore[Any], item: BaseModel, kind: str, report: Report) -> None:
        key = str(getattr(item, store.d.key))
        current = await store.get(key)
        if current is not None and current.model_dump() == item.model_dump():
            report.count(kind, "unchanged")
            return
        await store.put(item, actor=self.actor, at=self.at)
        report.count(kind, "updated" if current is not None else "created")

    async def conflicts(self, row: ImportRow) -> list[str]:
        """Identities and contract numbers that already belong to another client."""
        errors: list[str] = []
        if row.contract_number:
            contract = await self.contracts.get(row.contract_number)
            if contract is not None and contract.client_id != row.client_id:
                errors.append(f"contract {row.contract_number} belongs to client {contract.client_id}")
        for fname, values in (("emails", row.emails), ("phones", row.phones), ("chat_ids", row.chat_ids)):
            for v in values:
                other = await self.db[CONTACTS.collection].find_one({fname: v, "client_id": {"$ne": row.client_id}})
                if other is not None:
                    errors.append(f"{v} already identifies a contact of client {other['client_id']}")
        return errors

    async def row(self, row: ImportRow, report: Report) -> None:
        category = None
        if row.category:
            category = category_id(row.category)
            existing = await self.categories.get(category)
            if existing is None:
                await self._put(self.categories, ClientCategory(id=category, name={"ru": row.category,
                                                                                   "en": row.category}),
                                "categories", report)
        current = await self.clients.get(row.client_id)
        client = Client(id=row.client_id, name=row.client_name,
                        category=category or (current.category if current else None),
                        service_team_id=row.service_team_id or (current.service_team_id if current else None),
                        active=current.active if current else True)
        await self._put(self.clients, client, "clients", report)
        if row.contract_number:
            old = await self.contracts.get(row.contract_number)
            await self._put(self.contracts, Contract(number=row.contract_number, client_id=row.client_id,
                                                     product=row.product or (old.product if old else None)),
                            "contracts", report)
        if row.emails or row.phones or row.chat_ids:
            first = (row.emails or row.phones or row.chat_ids)[0]
            contact_id = row.contact_id or derived_id("contact", row.client_id, first)
            await self._put(self.contacts, ContactPerson(
                id=contact_id, client_id=row.client_id, name=row.contact_name, emails=row.emails, phones=row.phones,
                chat_ids=row.chat_ids, contract_number=row.contract_number, source="import"), "contacts", report)

    async def run(self, rows: list[tuple[str, dict[str, Any]]], region: str) -> Report:
        report = Report(rows=len(rows))
        for label, raw in rows:
            row, errors = validate_row(raw, region)
            if row is not None:
                errors = await self.conflicts(row)
            if row is None or errors:
                report.errors.append(RowError(label, "; ".join(errors)))
                continue
            await self.row(row, report)
            report.imported += 1
        return report


def read_file(path: Path, fmt: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    return read_rows(path.read_text(encoding="utf-8-sig"), fmt)


async def import_rows(rows: list[tuple[str, dict[str, Any]]], *, settings: Any = None,
                      actor: str = "import") -> Report:
    from shared.runtime.mongo import database, ensure_indexes, mongo_client

    from .settings import IntakeSettings
    from .store import INDEXES

    settings = settings or IntakeSettings()
    client = mongo_client(settings)
    try:
        db = database(client, settings)
        await ensure_indexes(db, INDEXES)
        return await Importer(db, actor=actor).run(rows, settings.default_region)
    finally:
        await client.close()


def cli(argv: list[str]) -> int:
    """0: everything imported; 1: some rows failed (the rest imported); 2: the file could not be read."""
    parser = argparse.ArgumentParser(prog="frontline import", description="Bulk-import directories")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("contacts", help="clients, contracts and contact persons from CSV or JSON")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=["csv", "json"], help="default: from the file extension")
    p.add_argument("--actor", default="import", help="who to record in the directory audit trail")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        rows = read_file(args.file, args.format)
    except (OSError, ValueError, csv.Error) as exc:
        print(f"cannot import {args.file}: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(import_rows(rows, actor=args.actor))
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for e in report.errors:
            print(f"{e.row}: {e.reason}")
        summary = ", ".join(f"{kind} {c['created']} created / {c['updated']} updated / {c['unchanged']} unchanged"
                            for kind, c in sorted(report.counts.items()))
        print(f"{report.imported} of {report.rows} rows imported, {len(report.errors)} failed"
              + (f"; {summary}" if summary else ""))
    return 1 if report.errors else 0
