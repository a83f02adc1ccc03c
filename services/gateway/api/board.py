"""The team board for leads: each of their service teams' agents with availability, load and the tickets they hold.

A team's people are counted as routing counts them (``team_member_ids``); each agent's tickets and load are
read within the caller's scope, like every other ticket read.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.contracts.schemas.common import TicketStatus
from shared.directory.routing import Agent, ServiceTeam, Staff, team_member_ids
from shared.runtime.problems import problem_responses

from ..access.principal import LEADS, Principal
from ..access.scope import ticket_scope
from ..queries.counts import count_tickets
from ..queries.plan import find_page
from ..queries.queues import WORKING
from .admin.people import _agent_view
from .deps import Context, Ctx, CurrentPrincipal, forbidden, require
from .models import AgentView, TicketSummary

TICKETS_PER_AGENT = 50
# What an agent's load counts: taken but not started, and started (in work or waiting for the client).
LOAD = {"assigned": [TicketStatus.assigned.value],
        "working": [TicketStatus.in_progress.value, TicketStatus.waiting_customer.value]}


class AgentLoad(BaseModel):
    assigned: int = Field(description="Tickets assigned to the agent, not yet taken into work")
    working: int = Field(description="Tickets in work or waiting for the client")


class BoardAgent(AgentView):
    load: AgentLoad
    tickets: list[TicketSummary] = Field(description=f"The agent's unresolved tickets you may see, most recently "
                                                     f"updated first (at most {TICKETS_PER_AGENT})")


class BoardTeam(BaseModel):
    id: str
    name: str | None = Field(None, description="Null when the team is not in the service-team directory")
    agents: list[BoardAgent]


class TeamBoard(BaseModel):
    teams: list[BoardTeam]


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["people"])

    @r.get("/team/board", response_model=TeamBoard, responses=problem_responses(401, 403, 422),
           summary="Leads: their teams' agents with availability, load and tickets; administrators: every team")
    async def team_board(p: CurrentPrincipal, ctx: Ctx,
                         team_id: Annotated[str | None, Query(max_length=200, description="Only this team")] = None,
                         ) -> TeamBoard:
        require(p, LEADS, "the team board")
        if p.is_admin:
            ids = [team_id] if team_id else sorted(t.id for t in await ctx.reads.teams.list(limit=1000))
        elif team_id is not None and team_id not in p.team_ids:
            raise forbidden(f"{team_id} is not one of your teams")
        else:
            ids = [team_id] if team_id else sorted(p.team_ids)
        return TeamBoard(teams=await _teams(ctx, p, ids))

    return r


async def _teams(ctx: Context, p: Principal, ids: list[str]) -> list[BoardTeam]:
    if not ids:
        return []
    teams = {t.id: t for t in await ctx.reads.teams.list({"_id": {"$in": ids}}, limit=len(ids))}
    listed = sorted({m.agent_id for t in teams.values() for m in t.members})
    agents: dict[str, Agent] = {a.id: a for a in await ctx.reads.list_agents(listed, len(listed) or 1)}
    agents.update({a.id: a for a in await ctx.reads.agents.list({"team_ids": {"$in": ids}}, limit=5000)})
    staff = Staff(agents=agents, teams=teams)
    scope = ticket_scope(p)
    out = []
    for tid in ids:
        members = sorted(a for a in team_member_ids(staff, tid) if a in agents)  # people the directory knows
        rows = await asyncio.gather(*(_agent(ctx, agents[a], scope) for a in members))
        out.append(BoardTeam(id=tid, name=_name(teams.get(tid)), agents=list(rows)))
    return out


def _name(team: ServiceTeam | None) -> str | None:
    return team.name if team else None


async def _agent(ctx: Context, agent: Agent, scope: dict[str, Any]) -> BoardAgent:
    held = {"assignee_id": agent.id, "status": {"$in": WORKING}}
    docs = await find_page(ctx.reads.find, [held, scope], "updated_at", -1, None, TICKETS_PER_AGENT)
    load = {k: await count_tickets(ctx.reads.tickets, [{"assignee_id": agent.id, "status": {"$in": statuses}}, scope])
            for k, statuses in LOAD.items()}
    return BoardAgent(**_agent_view(agent).model_dump(), load=AgentLoad(**load),
                      tickets=[TicketSummary.model_validate({**d, "id": d["_id"]}) for d in docs[:TICKETS_PER_AGENT]])
