"""Writing an import's rows into the clients, contracts, contacts and client-categories directories.

Idempotent (an entry that would not change is not written again) and row by row: a bad row is reported with its
label and reason and the rest are imported. Every write is audited under ``actor``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.ids import derived_id

from . import DirectoryStore
from .contacts import CLIENT_CATEGORIES, CLIENTS, CONTACTS, CONTRACTS, Client, ClientCategory, ContactPerson, Contract
from .contacts_import import ImportRow, Report, RowError, category_id, validate_row


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
