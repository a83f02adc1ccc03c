"""Who among the staff must know: pure rules over a snapshot of the routing directories.

Definitions (the domain document on service teams, 000_*.txt):

- The ticket's *service type* is the ``service_type`` of its catalogue node (the sub-service
  first, then the service, each walking up to the nearest ancestor that names one); failing
  that, ``classification.topic``. The catalogue is the authority because routing classifies
  into it; the topic is a free-text fallback for tickets classified outside the catalogue.
- A team *handles* a type when one of its members lists it in ``TeamMember.service_types``.
- A member is *subscribed* to a type in the team when the type is in their team
  ``service_types`` or in their own ``Agent.subscriptions``; with no known type, everyone is.
- In the agency at large, an agent is subscribed to a type when it is in their
  ``subscriptions`` or in the ``service_types`` of any team they belong to.
- Team leads and administrators are the members whose team role or agent roles say so.
- *Available* = availability ``online`` and inside one of their shifts (no shifts: always).
  Unavailable people still get the notice in their in-app feed, but no push; instead the
  available leads of the ticket's team (or of their own groups/teams) get the push.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.contracts.schemas.common import Classification
from shared.directory.routing import Agent, Role, ServiceNode, ServiceTeam, Staff, TeamMember, is_available

LEAD_ROLES = frozenset({Role.team_lead, Role.administrator})


@dataclass(frozen=True)
class StaffRecipient:
    agent_id: str
    push: bool  # False: in-app feed only (off shift / unavailable / unknown)
    reason: str


@dataclass(frozen=True)
class TicketStaffContext:
    team_id: str | None = None
    group_id: str | None = None
    assignee_id: str | None = None
    service_type: str | None = None


# ---- service type ------------------------------------------------------------------------------


def _node_type(node_id: str | None, services: Mapping[str, ServiceNode]) -> str | None:
    seen: set[str] = set()
    while node_id and node_id not in seen and node_id in services:
        seen.add(node_id)
        node = services[node_id]
        if node.service_type:
            return node.service_type
        node_id = node.parent_id
    return None


def service_type_of(classification: Classification | None, services: Mapping[str, ServiceNode]) -> str | None:
    if classification is None:
        return None
    return (_node_type(classification.sub_service_id, services) or _node_type(classification.service_id, services)
            or classification.topic or None)


# ---- availability ------------------------------------------------------------------------------


def available(agent: Agent | None, now: datetime) -> bool:
    """The same schedule rule routing assigns by (``shared.directory.routing.is_available``)."""
    return agent is not None and is_available(agent, now)


# ---- membership predicates ---------------------------------------------------------------------


def _member_agent(d: Staff, member: TeamMember) -> Agent | None:
    return d.agents.get(member.agent_id)


def team_handles(team: ServiceTeam, service_type: str) -> bool:
    return any(service_type in m.service_types for m in team.members)


def subscribed_in_team(member: TeamMember, agent: Agent | None, service_type: str | None) -> bool:
    if service_type is None:
        return True
    return service_type in member.service_types or (agent is not None and service_type in agent.subscriptions)


def is_lead(member: TeamMember, agent: Agent | None) -> bool:
    return member.role in LEAD_ROLES or (agent is not None and bool(LEAD_ROLES & set(agent.roles)))


def subscribed_in_agency(d: Staff, agent: Agent, service_type: str) -> bool:
    if service_type in agent.subscriptions:
        return True
    return any(m.agent_id == agent.id and service_type in m.service_types
               for team in d.teams.values() for m in team.members)


def team_leads(d: Staff, team: ServiceTeam, service_type: str | None = None) -> list[str]:
    return [m.agent_id for m in team.members
            if is_lead(m, _member_agent(d, m)) and subscribed_in_team(m, _member_agent(d, m), service_type)]


# ---- who covers for an unavailable person ------------------------------------------------------


def covering_leads(d: Staff, agent_id: str, ctx: TicketStaffContext, now: datetime) -> list[str]:
    """Available leads who take the push for ``agent_id``: the ticket team's leads first."""
    candidates: list[str] = []
    team = d.teams.get(ctx.team_id or "")
    if team and any(m.agent_id == agent_id for m in team.members):
        candidates = team_leads(d, team, ctx.service_type) or team_leads(d, team)
    if not candidates:
        agent = d.agents.get(agent_id)
        for gid in (agent.group_ids if agent else []):
            candidates += d.groups[gid].lead_ids if gid in d.groups else []
        for t in d.teams.values():
            if any(m.agent_id == agent_id for m in t.members):
                candidates += team_leads(d, t)
    if not candidates and ctx.group_id in d.groups:
        candidates = list(d.groups[ctx.group_id or ""].lead_ids)
    return sorted({c for c in candidates if c != agent_id and available(d.agents.get(c), now)})


def settle(d: Staff, chosen: Mapping[str, str], ctx: TicketStaffContext, now: datetime,
           exclude: Iterable[str] = ()) -> list[StaffRecipient]:
    """Apply availability to the chosen ``{agent_id: reason}``: absent people → feed only, their leads → push."""
    skip = set(exclude)
    out: dict[str, StaffRecipient] = {}

    def add(agent_id: str, push: bool, reason: str) -> None:
        if agent_id in skip:
            return
        prev = out.get(agent_id)
        if prev is None or (push and not prev.push):
            out[agent_id] = StaffRecipient(agent_id, push, prev.reason if prev and prev.push else reason)

    for agent_id, reason in sorted(chosen.items()):
        if available(d.agents.get(agent_id), now):
            add(agent_id, True, reason)
            continue
        add(agent_id, False, reason)
        for lead in covering_leads(d, agent_id, ctx, now):
            add(lead, True, f"covering:{agent_id}")
    return [out[k] for k in sorted(out)]


# ---- the rules ---------------------------------------------------------------------------------


def choose_ticket_staff(d: Staff, ctx: TicketStaffContext) -> dict[str, str]:
    """Who should hear about a ticket (before availability): ``{agent_id: reason}``."""
    chosen: dict[str, str] = {}
    team = d.teams.get(ctx.team_id or "")
    stype = ctx.service_type
    if team is not None and (stype is None or team_handles(team, stype)):
        for m in team.members:
            agent = _member_agent(d, m)
            if not subscribed_in_team(m, agent, stype):
                continue
            if team.notify_whole_team:
                chosen.setdefault(m.agent_id, "whole_team")
            elif is_lead(m, agent):
                chosen.setdefault(m.agent_id, "team_lead")
    elif stype is not None:
        # Nobody in the client's team can handle it (or no team): everyone subscribed, so someone picks it up.
        for agent in d.agents.values():
            if subscribed_in_agency(d, agent, stype):
                chosen.setdefault(agent.id, "agency")
    elif ctx.group_id in d.groups:
        for lead in d.groups[ctx.group_id or ""].lead_ids:
            chosen.setdefault(lead, "group_lead")
    if ctx.assignee_id:
        chosen[ctx.assignee_id] = "assignee"
    return chosen


def ticket_staff(d: Staff, ctx: TicketStaffContext, now: datetime,
                 exclude: Iterable[str] = ()) -> list[StaffRecipient]:
    return settle(d, choose_ticket_staff(d, ctx), ctx, now, exclude)


def resolve_roles(d: Staff, roles: Iterable[str], ctx: TicketStaffContext) -> dict[str, str]:
    """Roles an escalation step names, relative to the ticket: team and group roles first."""
    chosen: dict[str, str] = {}
    team = d.teams.get(ctx.team_id or "")
    group = d.groups.get(ctx.group_id or "")
    for role in roles:
        ids: list[str] = []
        if role == "assignee":
            ids = [ctx.assignee_id] if ctx.assignee_id else []
        elif role == "group_lead":
            ids = list(group.lead_ids) if group else []
        elif role == Role.team_lead:
            ids = ([m.agent_id for m in team.members if m.role == Role.team_lead] if team else [])
            ids = ids or (list(group.lead_ids) if group else [])
        elif role == Role.administrator and team is not None:
            ids = [m.agent_id for m in team.members if m.role == Role.administrator
                   or Role.administrator in getattr(d.agents.get(m.agent_id), "roles", [])]
        if not ids and role in Role.__members__:
            ids = [a.id for a in d.agents.values() if role in a.roles]
        for i in ids:
            chosen.setdefault(i, f"role:{role}")
    return chosen


def escalation_staff(d: Staff, user_ids: Iterable[str], roles: Iterable[str], ctx: TicketStaffContext,
                     now: datetime) -> list[StaffRecipient]:
    chosen = {u: "escalation" for u in user_ids}
    for k, v in resolve_roles(d, roles, ctx).items():
        chosen.setdefault(k, v)
    return settle(d, chosen, ctx, now)


def sla_staff(d: Staff, ctx: TicketStaffContext, now: datetime, breached: bool) -> list[StaffRecipient]:
    """Warning: the assignee (else the group leads). Breach: the assignee and the group leads."""
    chosen: dict[str, str] = {}
    group = d.groups.get(ctx.group_id or "")
    leads = list(group.lead_ids) if group else []
    if not leads and ctx.team_id in d.teams:
        leads = [m.agent_id for m in d.teams[ctx.team_id or ""].members if m.role == Role.team_lead]
    if ctx.assignee_id:
        chosen[ctx.assignee_id] = "assignee"
    if breached or not ctx.assignee_id:
        for lead in leads:
            chosen.setdefault(lead, "group_lead")
    return settle(d, chosen, ctx, now)


def deadline_staff(d: Staff, ctx: TicketStaffContext, now: datetime) -> list[StaffRecipient]:
    """A client deadline is the assignee's to meet; unassigned, the service team's leads (else the group's) must act.

    An unavailable assignee keeps the feed item and :func:`settle` hands the push to the leads covering them.
    """
    if ctx.assignee_id:
        return settle(d, {ctx.assignee_id: "assignee"}, ctx, now)
    team = d.teams.get(ctx.team_id or "")
    chosen = {lead: "team_lead" for lead in ((team_leads(d, team, ctx.service_type) or team_leads(d, team))
                                             if team else [])}
    if not chosen and ctx.group_id in d.groups:
        chosen = {lead: "group_lead" for lead in d.groups[ctx.group_id or ""].lead_ids}
    return settle(d, chosen, ctx, now)


def named_staff(d: Staff, ids: Iterable[str], reason: str, ctx: TicketStaffContext,
                now: datetime) -> list[StaffRecipient]:
    return settle(d, {i: reason for i in ids}, ctx, now)
