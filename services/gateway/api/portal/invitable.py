"""Whom a lead or an administrator may invite to the portal, as the invitation form offers it: the active clients
(a lead's teams' only; administrators all) and a chosen client's contacts with their addresses, and the ticket
rights an invitation may carry. Read-only; the scope is the invitation's own (``portal_invitations``)."""

from typing import Annotated, get_args

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import LEADS, Principal, TicketAccess
from ..deps import Ctx, CurrentPrincipal, forbidden, require

MAX_CONTACTS = 1_000  # contacts of one client shown in the form
Cursor = Annotated[str | None, Query(max_length=200, description="The last client id seen")]


class ClientItem(BaseModel):
    id: str
    name: str


class ContactItem(BaseModel):
    id: str
    name: str | None = None
    emails: list[str] = Field(description="The addresses an invitation may go to (none: it cannot be sent)")


class InvitableClients(BaseModel):
    items: list[ClientItem] = Field(description="Active clients by id")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for more; null on the last page")
    ticket_access: list[str] = Field(description="The values an invitation's `rights.tickets` may take")


class InvitableContacts(BaseModel):
    client: ClientItem
    items: list[ContactItem]


def _served(p: Principal) -> dict[str, object]:
    return {"active": True, **({} if p.is_admin else {"service_team_id": {"$in": p.team_ids}})}


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1/portal/invitations", tags=["portal"])

    @r.get("/clients", response_model=InvitableClients, responses=problem_responses(401, 403, 422),
           summary="Leads (their teams' clients) and administrators (all): the active clients one may invite for")
    async def clients(p: CurrentPrincipal, ctx: Ctx, cursor: Cursor = None,
                      limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> InvitableClients:
        require(p, LEADS, "inviting to the portal")
        query = {**_served(p), **({"_id": {"$gt": cursor}} if cursor else {})}
        store = DirectoryStore(ctx.reads.db, CLIENTS)
        docs = [d async for d in store.col.find(query, {"name": 1}).sort("_id", 1).limit(limit + 1)]
        page = [ClientItem(id=d["_id"], name=d.get("name") or d["_id"]) for d in docs[:limit]]
        return InvitableClients(items=page, next_cursor=page[-1].id if len(docs) > limit else None,
                                ticket_access=list(get_args(TicketAccess)))

    @r.get("/clients/{client_id}/contacts", response_model=InvitableContacts,
           responses=problem_responses(401, 403, 404, 422),
           summary="Leads (their teams' clients) and administrators: a client's contacts one may invite")
    async def contacts(client_id: str, p: CurrentPrincipal, ctx: Ctx) -> InvitableContacts:
        require(p, LEADS, "inviting to the portal")
        client = await DirectoryStore(ctx.reads.db, CLIENTS).get(client_id)
        if not p.is_admin and (client is None or client.service_team_id not in p.team_ids):
            # unknown or not his: the same answer, as the invitation itself gives
            raise forbidden(f"{client_id} is not a client your teams serve")
        if client is None:
            raise ProblemError(404, "Not Found", f"no client {client_id}")
        people = await DirectoryStore(ctx.reads.db, CONTACTS).list({"client_id": client.id}, limit=MAX_CONTACTS)
        return InvitableContacts(client=ClientItem(id=client.id, name=client.name), items=[
            ContactItem(id=c.id, name=c.name, emails=c.emails) for c in sorted(people, key=lambda c: c.id)])

    return r
