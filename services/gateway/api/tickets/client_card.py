"""The client card beside a ticket: who the client is by the contacts directory, and the client's other tickets,
only those the caller may see (the same scope as every ticket read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENT_CATEGORIES, CLIENTS, CONTACTS, CONTRACTS
from shared.runtime.problems import problem_responses

from ...access.principal import STAFF, Principal
from ...access.scope import and_all, ticket_scope
from ...queries.plan import Unsupported, find_page
from ...queries.queues import ACTIVE, SortField, sort_spec
from ..deps import Context, Ctx, CurrentPrincipal, require
from ..models import TicketSummary
from .tickets import load_visible

OPEN_MAX = 20
RECENT_MAX = 10


class Named(BaseModel):
    id: str
    name: str | None = None


class ClientInfo(Named):
    active: bool = Field(True, description="False: the client is no longer served")


class ContractInfo(BaseModel):
    number: str
    product: str | None = None
    active: bool | None = Field(description="Whether the contract is in force (the directory keeps no dates); "
                                            "null: the number is not in the contracts directory")


class CategoryInfo(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")


class ContactInfo(BaseModel):
    id: str | None = Field(None, description="The contact person in the directory; null when the sender is not one")
    name: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)


class ClientCard(BaseModel):
    identified: bool = Field(description="False: the sender is not matched to a client yet; the card is empty")
    reason: str | None = Field(None, description="Why the card is empty")
    client: ClientInfo | None = None
    contract: ContractInfo | None = Field(None, description="The contract the ticket was opened under, if named")
    category: CategoryInfo | None = None
    service_team: Named | None = None
    contact: ContactInfo | None = Field(None, description="Who wrote: the directory's contact person, else the "
                                                          "sender as the channel gave it")
    open_tickets: list[TicketSummary] = Field(default_factory=list, description=f"The client's other unresolved "
                                              f"tickets you may see, newest first (at most {OPEN_MAX})")
    more_open: bool = Field(False, description="There are more open tickets than listed")
    recent_tickets: list[TicketSummary] = Field(default_factory=list, description=f"The client's other "
                                                f"{RECENT_MAX} latest tickets you may see, at any status")


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["tickets"])

    @r.get("/tickets/{ticket_id}/client", response_model=ClientCard, responses=problem_responses(401, 403, 404, 422),
           summary="Staff: the client card of a ticket (organisation, contract, category, service team, contact, "
                   "the client's other open and recent tickets)")
    async def client_card(ticket_id: str, p: CurrentPrincipal, ctx: Ctx) -> ClientCard:
        require(p, STAFF, "the client card")
        doc = await load_visible(ctx, p, ticket_id)
        ref = doc.get("client") or {}
        if doc.get("unidentified") or not ref.get("client_id"):
            return ClientCard(identified=False, reason="the sender is not matched to a client")
        return await _card(ctx, p, doc, ref)

    return r


async def _card(ctx: Context, p: Principal, doc: dict[str, Any], ref: dict[str, Any]) -> ClientCard:
    db = ctx.reads.db
    client = await DirectoryStore(db, CLIENTS).get(ref["client_id"])
    number = ref.get("contract_number") or ref.get("contract_id")
    contract = await DirectoryStore(db, CONTRACTS).get(number) if number else None
    category_id = (client.category if client else None) or ref.get("category")
    category = await DirectoryStore(db, CLIENT_CATEGORIES).get(category_id) if category_id else None
    team_id = doc.get("service_team_id") or ref.get("service_team_id")
    team = await ctx.reads.team(team_id) if team_id else None
    person = await DirectoryStore(db, CONTACTS).get(ref["contact_id"]) if ref.get("contact_id") else None
    sender = doc.get("sender") or {}
    contact = (ContactInfo(id=person.id, name=person.name, emails=person.emails, phones=person.phones) if person
               else ContactInfo(name=sender.get("name"), emails=[e for e in [sender.get("email")] if e],
                                phones=[n for n in [sender.get("phone")] if n]))
    of_client = {"client.client_id": ref["client_id"]}
    open_ = await _others(ctx, p, doc["_id"], {**of_client, "status": {"$in": ACTIVE}}, OPEN_MAX + 1)
    recent = await _others(ctx, p, doc["_id"], of_client, RECENT_MAX)
    return ClientCard(
        identified=True,
        client=ClientInfo(id=ref["client_id"], name=client.name if client else ref.get("client_name"),
                          active=client.active if client else True),
        contract=ContractInfo(number=contract.number, product=contract.product, active=contract.active)
        if contract else (ContractInfo(number=number, active=None) if number else None),
        category=CategoryInfo(id=category.id, name=category.name) if category
        else (CategoryInfo(id=category_id) if category_id else None),
        service_team=Named(id=team_id, name=team.name if team else None) if team_id else None,
        contact=contact, open_tickets=open_[:OPEN_MAX], more_open=len(open_) > OPEN_MAX, recent_tickets=recent)


async def _others(ctx: Context, p: Principal, ticket_id: str, base: dict[str, Any], n: int) -> list[TicketSummary]:
    """Up to ``n`` of the client's tickets other than this one, newest first, within the caller's scope."""
    scope = ticket_scope(p)
    try:
        docs = await find_page(ctx.reads.find, [base, scope], "created_at", -1, None, n + 1)
    except Unsupported:
        docs = await ctx.reads.find(and_all(base, scope), sort_spec(SortField.created_at, -1), n + 1)
    return [TicketSummary.model_validate({**d, "id": d["_id"]}) for d in docs if d["_id"] != ticket_id][:n]
