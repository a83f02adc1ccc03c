"""Request plumbing: the service context and the authenticated principal of each request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.runtime.clock import Clock

from ..access.auth import Authenticator, AuthError, api_key_principal, hash_api_key
from ..access.cursors import CursorCodec
from ..access.principal import STAFF, Principal, UserRole
from ..clients.notify import NotifyApi
from ..ledger.commands import Commander
from ..ledger.hub import EventHub
from ..queries.store import Reads
from ..settings import GatewaySettings


@dataclass
class Context:
    settings: GatewaySettings
    clock: Clock
    reads: Reads
    auth: Authenticator
    hub: EventHub
    commander: Commander
    cursors: CursorCodec
    notify: NotifyApi


bearer = HTTPBearer(auto_error=False, description="JWT: our HS256 tokens or OIDC tokens (RS256/ES256)")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key for other systems")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="frontline"'})


def forbidden(detail: str) -> HTTPException:
    return HTTPException(403, detail)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def enrich(ctx: Context, p: Principal) -> Principal:
    """Staff scope = token claims ∪ the agent directory ∪ the teams listing them; leads also get their teams' agents.

    A team's people are those its entry lists and those listing it on themselves, as routing counts them. The
    entries are read through a short per-process cache (access/staff_directory.py: the bound on a revocation).
    """
    if p.role not in STAFF:
        return p
    agent, member_of = await ctx.reads.staff.entries(p.user_id)
    updates: dict[str, Any] = {"team_ids": sorted({*p.team_ids, *member_of})}
    if agent is not None:
        updates = {"line_ids": sorted({*p.line_ids, *agent.line_ids}),
                   "group_ids": sorted({*p.group_ids, *agent.group_ids}),
                   "team_ids": sorted({*updates["team_ids"], *agent.team_ids}),
                   "name": p.name or agent.name, "tenant_id": p.tenant_id or agent.tenant_id}
    p = p.model_copy(update=updates)
    if p.role == UserRole.team_lead:
        p = p.model_copy(update={"team_agent_ids": await ctx.reads.staff.team_agents(p.team_ids)})
    return p


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    ctx = context(request)
    if credentials is not None:
        try:
            principal = await ctx.auth.verify(credentials.credentials)
        except AuthError as exc:
            raise _unauthorized(str(exc)) from None
    elif api_key:
        doc = await ctx.reads.api_key(hash_api_key(api_key))
        found = api_key_principal(doc, ctx.clock.now()) if doc else None
        if found is None:
            raise _unauthorized("unknown, revoked or expired API key")
        principal = found
    else:
        raise _unauthorized("send a bearer token (Authorization: Bearer …) or an API key (X-API-Key)")
    return await enrich(ctx, principal)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Ctx = Annotated[Context, Depends(context)]


def require(p: Principal, roles: frozenset[UserRole] | set[UserRole], what: str) -> None:
    if p.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise forbidden(f"{what} needs one of the roles: {names}")
