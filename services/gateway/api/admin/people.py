"""Who I am, my (and, for leads, my agents') availability, my team's agents, the client portal, and API keys
for other systems."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import Attachment, Channel, Classification, ClientRef, InboundContent, Sender
from shared.directory import DirectoryStore, VersionConflict
from shared.directory.contacts import CONTACTS
from shared.directory.routing import Availability
from shared.runtime.ids import new_id
from shared.runtime.problems import ProblemError, problem_responses

from ...access.auth import hash_api_key, new_api_key
from ...access.principal import LEADS, STAFF, Principal, UserRole
from ...access.scope import may_act_for
from ...ledger.commands import command_id
from ..deps import Context, Ctx, CurrentPrincipal, forbidden, require
from ..models import (
    AgentPage,
    AgentView,
    ApiKeyBody,
    ApiKeyCreated,
    ApiKeyInfo,
    AvailabilityBody,
    MessageBody,
    PortalTicketBody,
    TicketView,
)
from ..portal.catalogue import checked_service, offered
from ..tickets.actions import ACTION_RESPONSES, respond
from ..tickets.attachments import sent_files
from ..tickets.tickets import load_visible

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.get("/me", response_model=Principal, tags=["people"], responses=problem_responses(401),
           summary="The caller as the gateway sees them (role, lines, groups, teams)")
    async def me(p: CurrentPrincipal) -> Principal:
        return p

    @r.put("/me/availability", response_model=AgentView, tags=["people"], responses=problem_responses(401, 403, 404,
                                                                                                          409, 422),
           summary="Set my availability (online, lunch, off shift, vacation, sick)")
    async def set_availability(body: AvailabilityBody, p: CurrentPrincipal, ctx: Ctx) -> AgentView:
        require(p, STAFF, "setting availability")
        return await _set_availability(ctx, p.user_id, body.availability, p)

    @r.put("/agents/{agent_id}/availability", response_model=AgentView, tags=["people"],
           responses=problem_responses(401, 403, 404, 409, 422),
           summary="Leads: set the availability of an agent of their teams; administrators: of anyone")
    async def set_agent_availability(agent_id: Annotated[str, Path(min_length=1, max_length=200)],
                                     body: AvailabilityBody, p: CurrentPrincipal, ctx: Ctx) -> AgentView:
        require(p, LEADS, "setting another agent's availability")
        if not may_act_for(p, agent_id):
            raise forbidden(f"{agent_id} is not an agent of your teams")
        return await _set_availability(ctx, agent_id, body.availability, p)

    @r.get("/agents", response_model=AgentPage, tags=["people"], responses=problem_responses(401, 403, 422),
           summary="Leads: the agents of their teams with availability; administrators: everyone")
    async def agents(p: CurrentPrincipal, ctx: Ctx,
                     limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> dict[str, Any]:
        require(p, LEADS, "listing agents")
        ids = None if p.is_admin else p.team_agent_ids
        return {"items": [_agent_view(a) for a in await ctx.reads.list_agents(ids, limit)]}

    @r.post("/portal/tickets", response_model=TicketView, tags=["portal"], responses=ACTION_RESPONSES,
            summary="Clients: open a ticket")
    async def portal_open(body: PortalTicketBody, p: CurrentPrincipal, ctx: Ctx,
                          key: IdempotencyKey = None) -> Any:
        client_id = _client(p)
        classification = None
        if body.service_id is not None or body.sub_service_id is not None:
            checked_service(await offered(ctx, p), body.service_id, body.sub_service_id)
            classification = Classification(service_id=body.service_id, sub_service_id=body.sub_service_id)
        cid = command_id(p, key, "portal-open")
        ticket_id = f"P-{cid[:12]}"
        files = await sent_files(ctx, p, ticket_id, body.attachment_ids)
        contact = await DirectoryStore(ctx.reads.db, CONTACTS).get(p.user_id)
        mine = contact is not None and contact.client_id == client_id  # his own request, for the "own" right
        msg = tickets.ReceiveMessage(channel=Channel.web, subject=body.subject, sender=Sender(name=p.name),
                                     client=ClientRef(client_id=client_id, contact_id=p.user_id if mine else None),
                                     classification=classification,
                                     content=_content(cid, body.subject, body.text, p, ctx.clock.now(), files))
        return await respond(ctx, p, await ctx.commander.send(p, ticket_id, msg, cid))

    @r.post("/portal/tickets/{ticket_id}/messages", response_model=TicketView, tags=["portal"],
            responses=ACTION_RESPONSES, summary="Clients: write on one of their tickets")
    async def portal_message(ticket_id: str, body: MessageBody, p: CurrentPrincipal, ctx: Ctx,
                             key: IdempotencyKey = None) -> Any:
        client_id = _client(p)
        await load_visible(ctx, p, ticket_id)
        cid = command_id(p, key, ticket_id, "portal-message")
        files = await sent_files(ctx, p, ticket_id, body.attachment_ids)
        msg = tickets.ReceiveMessage(channel=Channel.web, sender=Sender(name=p.name),
                                     client=ClientRef(client_id=client_id),
                                     content=_content(cid, None, body.text, p, ctx.clock.now(), files))
        return await respond(ctx, p, await ctx.commander.send(p, ticket_id, msg, cid))

    @r.post("/admin/api-keys", response_model=ApiKeyCreated, status_code=201, tags=["admin"],
            responses=problem_responses(401, 403, 422), summary="Issue an API key for another system")
    async def create_key(body: ApiKeyBody, p: CurrentPrincipal, ctx: Ctx) -> dict[str, Any]:
        require(p, {UserRole.administrator}, "issuing API keys")
        raw = new_api_key()
        doc = {"_id": hash_api_key(raw), "key_id": new_id(), **body.model_dump(), "created_at": ctx.clock.now(),
               "created_by": p.user_id, "revoked": False}
        await ctx.reads.save_api_key(doc)
        return {**{k: v for k, v in doc.items() if k != "_id"}, "api_key": raw}

    @r.get("/admin/api-keys", response_model=list[ApiKeyInfo], tags=["admin"],
           responses=problem_responses(401, 403, 422), summary="API keys (without the secrets)")
    async def list_keys(p: CurrentPrincipal, ctx: Ctx,
                        limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> list[dict[str, Any]]:
        require(p, {UserRole.administrator}, "listing API keys")
        return await ctx.reads.list_api_keys(limit)

    @r.delete("/admin/api-keys/{key_id}", status_code=204, tags=["admin"],
              responses=problem_responses(401, 403, 404), summary="Revoke an API key")
    async def revoke_key(key_id: str, p: CurrentPrincipal, ctx: Ctx) -> Response:
        require(p, {UserRole.administrator}, "revoking API keys")
        if not await ctx.reads.revoke_api_key(key_id):
            raise ProblemError(404, "Not Found", f"no active API key {key_id}")
        return Response(status_code=204)

    return r


async def _set_availability(ctx: Context, agent_id: str, availability: Availability, p: Principal) -> AgentView:
    """The one write path for availability (self-service and leads'): a compare-and-set on the agent entry, so a
    concurrent directory edit is never overwritten, recorded in the directory audit as done by ``p``."""
    for _ in range(3):
        agent = await ctx.reads.agents.get(agent_id)
        if agent is None:
            raise ProblemError(404, "Not Found", f"{agent_id} is not in the agent directory")
        current = await ctx.reads.agents.col.find_one({"_id": agent_id}, {"_version": 1})
        version = int((current or {}).get("_version", 0))
        updated = agent.model_copy(update={"availability": availability})
        try:
            await ctx.reads.agents.put(updated, actor=p.user_id, at=ctx.clock.now(), expected_version=version)
        except VersionConflict:
            continue
        return _agent_view(updated)
    raise ProblemError(409, "Conflict", "the agent entry keeps changing; try again")


def _client(p: Principal) -> str:
    if p.role != UserRole.client or not p.client_id:
        raise forbidden("the portal is for clients (a token with role client and a client_id claim)")
    return p.client_id


def _content(cid: str, subject: str | None, text: str, p: Principal, at: datetime,
             files: list[Attachment]) -> InboundContent:
    return InboundContent(message_id=cid, channel=Channel.web, external_id=f"portal:{cid}", subject=subject,
                          text=text, sender=Sender(name=p.name), received_at=at, attachments=files)


def _agent_view(a: Any) -> AgentView:
    return AgentView(id=a.id, name=a.name, availability=a.availability, line_ids=a.line_ids, group_ids=a.group_ids,
                     team_ids=a.team_ids, roles=[str(r) for r in a.roles])
