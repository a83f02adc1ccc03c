"""Contacts directory: clients, their contracts, categories, contact persons and service team.

Owned by intake, which identifies every inbound message with it before the ticket
opens. Identities are stored normalised (e-mails case-folded, phones E.164) so a
lookup is one indexed equality match. Extend additively; gateway and importer write it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.schemas.tickets import MAX_FIELDS_PER_COMMAND, FieldId, FieldValue
from shared.directory import register


class ClientCategory(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "premium", "name": {"ru": "Премиум", "en": "Premium"}, "rank": 30}]})

    id: str = Field(description="e.g. premium / business / standard")
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    rank: int = Field(0, description="Higher = more important (used for ordering only)")


class Client(BaseModel):
    """An organisation (or private person) we serve."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "C-42", "name": "ООО «Вектор Тур»", "category": "premium", "service_team_id": "A", "active": True}]})

    id: str
    name: str = Field(min_length=1, max_length=500)
    category: str | None = Field(None, description="ClientCategory id")
    service_team_id: str | None = Field(None, description="Routing ServiceTeam attached to the client")
    active: bool = True
    custom_fields: dict[FieldId, FieldValue] = Field(default_factory=dict, max_length=MAX_FIELDS_PER_COMMAND,
                                                     description="Client-level custom field values (checked "
                                                                 "against the custom-fields directory on write)")


class Contract(BaseModel):
    """Keyed by its number, so a contract number is unique by construction."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "ДГ-2026-0157", "client_id": "C-42", "product": "internet-business-100", "active": True}]})

    number: str = Field(min_length=1, max_length=100)
    client_id: str
    product: str | None = None
    active: bool = True


class ContactPerson(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "P-1001", "client_id": "C-42", "name": "Анна Петрова", "emails": ["anna.petrova@vector-tour.example"],
        "phones": ["+74951234567"], "chat_ids": ["telegram:123456789"], "contract_number": "ДГ-2026-0157",
        "source": "directory"}]})

    id: str
    client_id: str
    name: str | None = Field(None, max_length=300)
    emails: list[str] = Field(default_factory=list, description="Case-folded")
    phones: list[str] = Field(default_factory=list, description="E.164")
    chat_ids: list[str] = Field(default_factory=list, description="platform:user id")
    contract_number: str | None = Field(None, description="Contract this person writes about; else the client's")
    source: str = Field("directory", description="directory / import / linked (added when an agent linked a ticket)")


CLIENT_CATEGORIES = register("client-categories", ClientCategory, "dir_client_categories", owner="intake",
                             description="Client categories (Premium / Business / Standard …)")
CLIENTS = register("clients", Client, "dir_clients", owner="intake",
                   description="Clients (organisations) with category and service team")
CONTRACTS = register("contracts", Contract, "dir_contracts", owner="intake",
                     description="Contracts; the number is the key", key="number")
CONTACTS = register("contacts", ContactPerson, "dir_contacts", owner="intake",
                    description="Contact persons with e-mails, phones (E.164) and chat ids")
