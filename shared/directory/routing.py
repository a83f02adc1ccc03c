"""Routing directories: support lines, groups, service catalogue, service teams, agents.

Owned by routing (which decides with them); notify and SLA read agents and teams to
resolve people and roles. Extend additively; do not rename fields others read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from shared.directory import register
from shared.directory.custom_fields import FieldCondition, conditions_hold


class Availability(StrEnum):
    online = "online"
    lunch = "lunch"
    off_shift = "off_shift"
    vacation = "vacation"
    sick = "sick"


class Role(StrEnum):
    specialist = "specialist"
    team_lead = "team_lead"
    administrator = "administrator"
    head_of_service = "head_of_service"  # head of customer service
    head_of_division = "head_of_division"
    technical_director = "technical_director"


class Shift(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="May be earlier than start: a night shift")


# The client's own choice (shared.contracts.schemas.common.RequestedLine's values; a unit test keeps the two equal).
ClientChoice = Literal["technical", "plain", "not_technical"]


class Line(BaseModel):
    """A support line. Which client choices it serves and where it escalates are the desk's business rules
    (``shared.directory.line_chain`` reads them; the gateway refuses a write that breaks them)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "second", "name": {"ru": "Вторая линия", "en": "Second line"}, "order": 2,
         "client_choices": ["technical"], "escalates_to": "third"}]})

    id: str  # first, second, third, commercial, development
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    order: int = Field(description="Display order only (lists, pickers); escalation follows escalates_to")
    client_choices: list[ClientChoice] = Field(
        default_factory=list, description="The client's choices (IVR digit, chat button, form field) this line "
                                          "serves; each choice is served by at most one line")
    escalates_to: str | None = Field(None, description="The line a ticket is escalated to from this one; "
                                                       "none: escalating past it is refused")


class Group(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "second-network", "line_id": "second", "name": {"ru": "Сетевые инженеры", "en": "Network engineers"},
         "lead_ids": ["lea"]}]})

    id: str
    line_id: str
    name: dict[str, str] = Field(default_factory=dict)
    lead_ids: list[str] = Field(default_factory=list)
    when_fields: list[FieldCondition] = Field(
        default_factory=list, max_length=20, description="Custom field conditions (all must hold, e.g. product = "
        "tv): a ticket matching them is routed to this group and its line, unless a person or an urgency rule "
        "already placed it (services/routing/domain.py: pick_line)")


class ServiceNode(BaseModel):
    """Service catalogue: services → sub-services (a tree) → groups allowed for each sub-service."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "air-exchange", "parent_id": "air",
         "name": {"ru": "Обмен и возврат авиабилетов", "en": "Air ticket exchange and refund"},
         "group_ids": ["first-travel", "second-travel"], "service_type": "air"}]})

    id: str
    parent_id: str | None = None
    name: dict[str, str] = Field(default_factory=dict)
    group_ids: list[str] = Field(default_factory=list)
    service_type: str | None = None
    description: dict[str, str] = Field(default_factory=dict, description="ru/en: what it covers, for the portal")
    client_categories: list[str] = Field(default_factory=list, description="Client categories offered it on the "
                                         "portal (with its sub-services); empty: every client")


class TeamMember(BaseModel):
    agent_id: str
    service_types: list[str] = Field(default_factory=list, description="e.g. air, rail, hotel")
    role: Role = Role.specialist
    night_shift: bool = False


class ServiceTeam(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "A", "name": "Команда A — корпоративные клиенты",
        "members": [{"agent_id": "ann", "service_types": ["air", "rail"], "role": "specialist", "night_shift": False},
                    {"agent_id": "bob", "service_types": ["hotel"], "role": "specialist", "night_shift": True},
                    {"agent_id": "lea", "service_types": ["air", "rail", "hotel"], "role": "team_lead",
                     "night_shift": False}],
        "notify_whole_team": False}]})

    id: str
    name: str
    members: list[TeamMember] = Field(default_factory=list)
    notify_whole_team: bool = Field(False, description="Notify every subscribed member even with an assignee")


class Agent(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "ann", "name": "Анна Смирнова", "email": "ann@desk.example", "phone": "+74951112233",
        "roles": ["specialist"], "line_ids": ["first"], "group_ids": ["first-travel"], "team_ids": ["A"],
        "skills": ["air", "rail"], "subscriptions": ["air"], "availability": "online", "timezone": "Europe/Moscow",
        "shifts": [{"weekday": day, "start": "09:00", "end": "18:00"} for day in range(5)], "language": "ru"}]})

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.specialist])
    line_ids: list[str] = Field(default_factory=list)
    group_ids: list[str] = Field(default_factory=list)
    team_ids: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list, description="Service types / skills")
    subscriptions: list[str] = Field(default_factory=list, description="Service types they want notices for")
    availability: Availability = Availability.online
    timezone: str = "UTC"
    shifts: list[Shift] = Field(default_factory=list, description="Empty: always on shift")
    language: str = "ru"
    tenant_id: str | None = None


LINES = register("lines", Line, "dir_lines", "routing", "Support lines: client choices served, escalation chain")
GROUPS = register("groups", Group, "dir_groups", "routing", "Groups within lines")
SERVICES = register("services", ServiceNode, "dir_services", "routing", "Service catalogue tree")
TEAMS = register("teams", ServiceTeam, "dir_teams", "routing", "Service teams attached to clients")
AGENTS = register("agents", Agent, "dir_agents", "routing", "Agents, schedules, availability")


# ---- schedule helpers (pure; routing decides with them, others may show or reuse them) -------------


def _minutes(value: str) -> int:
    """"HH:MM" → minutes after midnight; "24:00" means the end of the day."""
    h, m = value.split(":")
    return min(int(h) * 60 + int(m), 24 * 60)


def zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad zone in the directory must not stop routing


def shift_covers(shift: Shift, local: datetime) -> bool:
    """Whether ``shift`` covers the agent-local time ``local``.

    A shift whose end is not after its start runs past midnight into the next weekday
    (22:00–06:00 on Sunday covers Monday 03:00); start == end is a whole 24 hours.
    """
    start, end = _minutes(shift.start), _minutes(shift.end)
    t = local.hour * 60 + local.minute
    if start < end:
        return local.weekday() == shift.weekday and start <= t < end
    if local.weekday() == shift.weekday and t >= start:
        return True
    return (local.weekday() - 1) % 7 == shift.weekday and t < end


def on_shift(agent: Agent, at: datetime) -> bool:
    """An agent without shifts is always on shift; otherwise some shift covers ``at`` in their zone."""
    if not agent.shifts:
        return True
    local = at.astimezone(zone_or_utc(agent.timezone))
    return any(shift_covers(s, local) for s in agent.shifts)


def is_available(agent: Agent, at: datetime) -> bool:
    """Online (not at lunch, on vacation, sick or marked off shift) and on shift by the schedule."""
    return agent.availability == Availability.online and on_shift(agent, at)


@dataclass(frozen=True)
class Staff:
    """A snapshot of the routing directories, keyed by id: what routing assigns from and notify addresses."""

    agents: Mapping[str, Agent] = field(default_factory=dict)
    teams: Mapping[str, ServiceTeam] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    services: Mapping[str, ServiceNode] = field(default_factory=dict)
    lines: Mapping[str, Line] = field(default_factory=dict)


# Lines that serve every client: a client's service team does not bound who works their tickets (development
# sub-tickets carry the parent's client, and so its team, for context only). Routing and the gateway's scope read it.
TEAMLESS_LINES = frozenset({"development"})


def team_member_ids(staff: Staff, team_id: str) -> frozenset[str]:
    """A service team's people: listed in the team directory or listing the team on themselves (the gateway's
    ``Reads.team_agent_ids`` and scope read both too); empty for a team the directory does not know."""
    listed = staff.teams.get(team_id)
    ids = {m.agent_id for m in listed.members} if listed is not None else set()
    return frozenset(ids | {a.id for a in staff.agents.values() if team_id in a.team_ids})


# ---- service catalogue narrowing (pure; the gateway serves it to the agents' pickers) -----------------


class UnknownService(LookupError):
    """A service or sub-service id that is not in the catalogue."""


class NotASubService(ValueError):
    """The sub-service picked does not belong to the service picked."""


@dataclass(frozen=True)
class CatalogueChoice:
    """What is left to pick once a service and/or a sub-service has been picked."""

    sub_services: list[ServiceNode]  # children of the service (the top-level services when none is picked)
    group_ids: list[str]  # groups allowed for the sub-service (or the service); empty when nothing is picked


def catalogue_chain(services: Mapping[str, ServiceNode], node_id: str) -> list[ServiceNode]:
    """The node and its ancestors, nearest first; stops at a missing parent or a cycle in admin-edited data."""
    chain: list[ServiceNode] = []
    node = services.get(node_id)
    while node is not None and node not in chain:
        chain.append(node)
        node = services.get(node.parent_id) if node.parent_id else None
    return chain


def allowed_groups(services: Mapping[str, ServiceNode], node_id: str) -> list[str]:
    """Groups the catalogue allows for a node; a node without groups inherits its nearest ancestor's (routing's
    rule too: ``services.routing.domain.catalogue_groups``), so narrowing never offers a group routing would not
    use."""
    return next((list(n.group_ids) for n in catalogue_chain(services, node_id) if n.group_ids), [])


def narrow_catalogue(services: Mapping[str, ServiceNode], service_id: str | None = None,
                     sub_service_id: str | None = None) -> CatalogueChoice:
    """Picking a service narrows the sub-services to its children; picking a sub-service narrows the groups.

    Raises :class:`UnknownService` for an id not in the catalogue and :class:`NotASubService` when the
    sub-service is not under the service (a picker must not combine them).
    """
    for node_id in (service_id, sub_service_id):
        if node_id is not None and node_id not in services:
            raise UnknownService(node_id)
    if service_id is not None and sub_service_id is not None:
        if service_id not in [n.id for n in catalogue_chain(services, sub_service_id)[1:]]:
            raise NotASubService(f"{sub_service_id} is not a sub-service of {service_id}")
    children = sorted((n for n in services.values() if n.parent_id == service_id and n.id != service_id),
                      key=lambda n: n.id)
    picked = sub_service_id or service_id
    return CatalogueChoice(sub_services=children, group_ids=allowed_groups(services, picked) if picked else [])


def field_group(groups: Mapping[str, Group], values: Mapping[str, Any]) -> Group | None:
    """The group whose custom field conditions the ticket's values meet: the most conditions, then the lowest id."""
    matching = [g for g in groups.values() if conditions_hold(g.when_fields, values)]
    return min(matching, key=lambda g: (-len(g.when_fields), g.id), default=None)
