"""Who works a ticket: pure assignment decisions, tested without Kafka or MongoDB.

Every function takes a directory snapshot (:class:`Staff`), the ticket view, the
:class:`Policy` (settings plus intake's classification tree and urgency rules) and the
time, and returns actions; the handlers turn actions into ledger commands and
``routing.events``. Choices that look random are seeded by the ticket and offer
round, so a redelivered event or a re-fired timer makes the same choice.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.contracts.schemas.common import UNASSIGNED_STATUSES, WORKING_STATUSES, TicketStatus
from shared.directory.classification import Topic, UrgencyRule, node_routing, urgency_line
from shared.directory.line_chain import line_for_choice
from shared.directory.routing import (
    TEAMLESS_LINES,
    Availability,
    Role,
    ServiceNode,
    Staff,
    catalogue_chain,
    field_group,
    is_available,
    team_member_ids,
)

from .projection import TicketView

Strategy = Literal["random", "least_loaded", "skills_first"]
AssignMode = Literal["auto", "night_shift", "team_lead"]


@dataclass(frozen=True)
class Policy:
    """How tickets map to lines: settings, plus intake's tree and urgency rules as last read (``with_triage``).

    The client's choice → line is not here: the lines directory says it (``shared.directory.line_chain``)."""

    default_line: str = "first"
    strategy: Strategy = "random"
    claim_timeout: timedelta = timedelta(seconds=40)
    claim_timeout_by_urgency: Mapping[str, timedelta] = field(default_factory=dict)
    topics: Sequence[Topic] = ()
    urgency_rules: Sequence[UrgencyRule] = ()

    def timeout_for(self, urgency: str) -> timedelta:
        return self.claim_timeout_by_urgency.get(urgency, self.claim_timeout)

    def with_triage(self, topics: Sequence[Topic], urgency_rules: Sequence[UrgencyRule]) -> Policy:
        return replace(self, topics=tuple(topics), urgency_rules=tuple(urgency_rules))


# ---- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    agent_ids: tuple[str, ...]
    line: str
    group_id: str | None
    service_team_id: str | None
    reason: str


@dataclass(frozen=True)
class Assign:
    agent_id: str
    mode: AssignMode
    reason: str


@dataclass(frozen=True)
class Alert:
    lead_ids: tuple[str, ...]
    reason: Literal["assignee_unavailable", "nobody_available", "auto_assigned_to_night_shift",
                    "auto_assigned_to_lead", "unclaimed"]
    assignee_id: str | None = None
    detail: str | None = None
    service_team_id: str | None = None


@dataclass(frozen=True)
class Nobody:
    line: str
    group_id: str | None
    fallback: Literal["night_shift", "team_lead", "none"]
    agent_id: str | None = None


@dataclass(frozen=True)
class Flag:
    flag: str
    value: bool
    reason: str


@dataclass(frozen=True)
class Retry:
    """Nobody at all could take the ticket: route it again later."""

    reason: str


Action = Offer | Assign | Alert | Nobody | Flag | Retry


# ---- line, group, service type ----------------------------------------------------------------------


def _catalogue_chain(view: TicketView, staff: Staff, policy: Policy) -> list[ServiceNode]:
    """The ticket's sub-service (or service) and its ancestors, nearest first.

    A service named on the classification wins; else the one its tree node names (so a
    reclassified ticket follows its new node even when nobody stamped the service).
    """
    c = view.classification
    start = (c.sub_service_id or c.service_id) if c else None
    if start is None:
        hints = node_routing(policy.topics, c)
        start = hints.sub_service_id or hints.service_id
    return catalogue_chain(staff.services, start) if start else []


def catalogue_groups(view: TicketView, staff: Staff, policy: Policy) -> list[str]:
    """Groups the catalogue allows for the ticket's sub-service; a node without groups inherits its parent's."""
    return next((list(n.group_ids) for n in _catalogue_chain(view, staff, policy) if n.group_ids), [])


def service_type(view: TicketView, staff: Staff, policy: Policy) -> str | None:
    return next((n.service_type for n in _catalogue_chain(view, staff, policy) if n.service_type), None)


def pick_line(*, ticket: str | None, urgency: str | None, requested: str | None, classification: str | None,
              catalogue: str | None, default: str, fields: str | None = None) -> str:
    """The support line: the first of these that is set.

    1. ``ticket`` -- the line the ticket already has (opened on it, e.g. a development
       sub-ticket; escalated to it; routed there before): a person decided, or it is
       already being worked there, and nothing overrides that;
    2. ``urgency`` -- the urgency rule's line: an outage ("no connection") goes straight to the
       engineers whatever button the client pressed, losing no time in first line;
    3. ``requested`` -- the line serving the client's own choice (technical, plain, not technical;
       the lines directory says which): the client knows what kind of help they want;
    3a. ``fields`` -- the line of the group whose custom field conditions the ticket meets
       (product = X → group Y): an administrator's explicit rule, more specific than the subject;
    4. ``classification`` -- the line the topic / type / subtopic names: the desk's default
       for the subject when the client did not choose;
    5. ``catalogue`` -- the line of the catalogue group of the ticket's service;
    6. ``default`` -- the configured default (first line).
    """
    return next((ln for ln in (ticket, urgency, requested, fields, classification, catalogue) if ln), default)


def target_line(view: TicketView, staff: Staff, policy: Policy) -> str:
    """The ticket's line by :func:`pick_line`'s precedence."""
    requested = line_for_choice(staff.lines.values(), view.requested_line.value) if view.requested_line else None
    catalogue = next((staff.groups[gid].line_id for gid in catalogue_groups(view, staff, policy)
                      if gid in staff.groups), None)
    by_fields = field_group(staff.groups, view.custom_fields)
    return pick_line(ticket=view.line, urgency=urgency_line(policy.urgency_rules, view.urgency),
                     requested=requested, classification=node_routing(policy.topics, view.classification).line,
                     catalogue=catalogue, default=policy.default_line, fields=by_fields.line_id if by_fields else None)


def target_group(view: TicketView, line: str, staff: Staff, policy: Policy) -> str | None:
    """The ticket's group if it belongs to ``line``, else the first catalogue group of that line."""
    def fits(gid: str) -> bool:
        group = staff.groups.get(gid)
        return group is None or group.line_id == line

    if view.group_id and fits(view.group_id):
        return view.group_id
    by_fields = field_group(staff.groups, view.custom_fields)
    if by_fields is not None and by_fields.line_id == line:
        return by_fields.id
    return next((gid for gid in catalogue_groups(view, staff, policy) if gid in staff.groups and fits(gid)), None)


# ---- who may take it ------------------------------------------------------------------------------


def serving_team(view: TicketView, staff: Staff, line: str) -> frozenset[str] | None:
    """Who may be offered or auto-assigned the ticket on ``line``: its client's service team, or None (no team rule:
    no team, or a line that serves every client, such as development)."""
    if view.service_team_id is None or line in TEAMLESS_LINES:
        return None
    return team_member_ids(staff, view.service_team_id)


def eligible(staff: Staff, line: str, group_id: str | None, now: datetime,
             exclude: Iterable[str] = (), team: frozenset[str] | None = None) -> list[str]:
    """Available, on-shift agents of the group; the whole line when nobody of the group is.

    With ``team`` (:func:`serving_team`), only its members count: nobody of the team is nobody at all, and
    the caller falls back (:func:`fallback`) rather than widening to the line.
    """
    skip = set(exclude)
    in_line = [a for a in staff.agents.values()
               if line in a.line_ids and a.id not in skip and is_available(a, now) and (team is None or a.id in team)]
    if group_id:
        in_group = [a for a in in_line if group_id in a.group_ids]
        if in_group:
            in_line = in_group
    return sorted(a.id for a in in_line)


def team_leads(view: TicketView, staff: Staff, line: str | None = None) -> list[str]:
    """Leads to alert and fall back to: the service team's leads and the group's, else the line's leads."""
    ids: set[str] = set()
    team = staff.teams.get(view.service_team_id) if view.service_team_id else None
    if team is not None:
        for m in team.members:
            agent = staff.agents.get(m.agent_id)
            if m.role == Role.team_lead or (agent is not None and Role.team_lead in agent.roles):
                ids.add(m.agent_id)
    group = staff.groups.get(view.group_id) if view.group_id else None
    if group is not None:
        ids.update(group.lead_ids)
    if not ids and line:
        ids.update(a.id for a in staff.agents.values() if Role.team_lead in a.roles and line in a.line_ids)
    return sorted(ids)


def night_shift(view: TicketView, staff: Staff, now: datetime, exclude: Iterable[str] = ()) -> list[str]:
    """The service team's night-shift specialists who are available now (their own hours)."""
    team = staff.teams.get(view.service_team_id) if view.service_team_id else None
    if team is None:
        return []
    skip = set(exclude)
    return sorted(m.agent_id for m in team.members
                  if m.night_shift and m.agent_id not in skip and m.agent_id in staff.agents
                  and is_available(staff.agents[m.agent_id], now))


def choose(candidates: Sequence[str], strategy: Strategy, staff: Staff, *, seed: str,
           loads: Mapping[str, int] | None = None, skill: str | None = None) -> str | None:
    """One agent from ``candidates`` by the configured strategy; deterministic for a given seed."""
    pool = sorted(set(candidates))
    if not pool:
        return None
    rng = random.Random(seed)
    if strategy == "skills_first" and skill:
        skilled = [a for a in pool if a in staff.agents and skill in staff.agents[a].skills]
        pool = skilled or pool
    if strategy in ("least_loaded", "skills_first") and loads is not None:
        low = min(loads.get(a, 0) for a in pool)
        pool = [a for a in pool if loads.get(a, 0) == low]
    return rng.choice(pool)


# ---- decisions --------------------------------------------------------------------------------------


def route(view: TicketView, staff: Staff, policy: Policy, now: datetime, *, reason: str = "new",
          exclude: Iterable[str] = (), loads: Mapping[str, int] | None = None, quiet: bool = False,
          ) -> list[Action]:
    """A ticket that needs someone: offer it to everyone who may take it, else fall back."""
    if view.status not in UNASSIGNED_STATUSES or view.assignee_id:
        return []
    line = target_line(view, staff, policy)
    group = target_group(view, line, staff, policy)
    candidates = eligible(staff, line, group, now, exclude, serving_team(view, staff, line))
    if candidates:
        return [Offer(tuple(candidates), line, group, view.service_team_id, reason)]
    return fallback(view, staff, policy, now, line, group, seed=f"{view.id}:{view.offer_round}:{reason}",
                    loads=loads, exclude=exclude, quiet=quiet)


def reclassified(before: TicketView, after: TicketView, staff: Staff, policy: Policy, now: datetime, *,
                 loads: Mapping[str, int] | None = None) -> list[Action]:
    """Classification or urgency changed while nobody has the ticket yet: offer it again if that moves it.

    Routing's own earlier choice of line and group is revisited, a line or group fixed on opening
    or by an escalation is not. Both classifications are judged on today's directories, so a
    change that leaves the ticket where it is (a product, a typo) does not disturb the offer.
    """
    if after.status not in UNASSIGNED_STATUSES or after.assignee_id:
        return []

    def destination(v: TicketView) -> tuple[str, str | None]:
        line = target_line(v, staff, policy)
        return line, target_group(v, line, staff, policy)

    old, new = (v.model_copy(update={"line": v.pinned_line, "group_id": v.pinned_group_id}) for v in (before, after))
    if destination(old) == destination(new):
        return []
    return route(new, staff, policy, now, reason="reclassified", loads=loads)


def auto_assign(view: TicketView, staff: Staff, policy: Policy, now: datetime, *, offer_round: int,
                loads: Mapping[str, int] | None = None) -> list[Action]:
    """Nobody claimed the offer in time: pick an available agent, never one who is away or off shift."""
    if view.status != TicketStatus.offered or view.offer_round != offer_round or view.assignee_id:
        return []  # claimed, re-offered or moved on since the timer was set
    line = view.line or target_line(view, staff, policy)
    group = view.group_id
    now_eligible = eligible(staff, line, group, now, team=serving_team(view, staff, line))
    offered = [a for a in view.offered_to if a in now_eligible]
    seed = f"{view.id}:{offer_round}:auto"
    agent = choose(offered or now_eligible, policy.strategy, staff, seed=seed, loads=loads,
                   skill=service_type(view, staff, policy))
    if agent is not None:
        return [Assign(agent, "auto", f"nobody claimed within {policy.timeout_for(view.urgency).total_seconds():g} s")]
    return fallback(view, staff, policy, now, line, group, seed=seed, loads=loads)


def fallback(view: TicketView, staff: Staff, policy: Policy, now: datetime, line: str, group: str | None, *,
             seed: str, loads: Mapping[str, int] | None = None, exclude: Iterable[str] = (),
             quiet: bool = False) -> list[Action]:
    """Nobody in the line (of the client's service team, when it has one): the team's night-shift specialist, then
    a lead (the team's, the group's, else the line's), else alert and retry later. Each step is recorded in the
    assignment's reason and on ``routing.events``; the ticket is never widened to the rest of the line."""
    leads = team_leads(view, staff, line)
    team = view.service_team_id
    nobody = (f"nobody of service team {team} available on line {line}" if serving_team(view, staff, line) is not None
              else f"nobody available on line {line}")
    night = choose(night_shift(view, staff, now, exclude), policy.strategy, staff, seed=seed, loads=loads,
                   skill=service_type(view, staff, policy))
    if night is not None:
        return [Assign(night, "night_shift", nobody),
                Nobody(line, group, "night_shift", night),
                Alert(tuple(leads), "auto_assigned_to_night_shift", night, f"line {line}", team)]
    skip = set(exclude)
    available_leads = [a for a in leads if a not in skip and a in staff.agents and is_available(staff.agents[a], now)]
    lead = choose(available_leads, policy.strategy, staff, seed=seed, loads=loads)
    if lead is not None:
        return [Assign(lead, "team_lead", f"{nobody} and no night shift"),
                Nobody(line, group, "team_lead", lead),
                Alert(tuple(leads), "auto_assigned_to_lead", lead, f"line {line}", team)]
    if quiet:
        return [Retry("nobody_available")]
    return [Nobody(line, group, "none"),
            Alert(tuple(leads), "nobody_available", None, nobody, team),
            Flag("nobody_available", True, nobody),
            Retry("nobody_available")]


def lost(view: TicketView, staff: Staff, policy: Policy, now: datetime) -> list[Action]:
    """The client wrote into a ticket whose assignee is away: alert the leads and offer it again."""
    if view.status not in WORKING_STATUSES or not view.assignee_id:
        return []
    assignee = staff.agents.get(view.assignee_id)
    if assignee is not None and is_available(assignee, now):
        return []
    line = view.line or target_line(view, staff, policy)
    why = f"assignee {view.assignee_id} is {assignee.availability.value if assignee else 'unknown'}"
    if assignee is not None and assignee.availability == Availability.online:
        why = f"assignee {view.assignee_id} is off shift"
    actions: list[Action] = [
        Alert(tuple(team_leads(view, staff, line)), "assignee_unavailable", view.assignee_id, why,
              view.service_team_id),
        Flag("lost", True, why),
    ]
    candidates = eligible(staff, line, view.group_id, now, exclude=[view.assignee_id],
                          team=serving_team(view, staff, line))
    if candidates:
        actions.append(Offer(tuple(candidates), line, view.group_id, view.service_team_id, "assignee_unavailable"))
    return actions


RAISED_FLAGS = ("lost", "nobody_available")


def settle_flags(view: TicketView) -> list[Action]:
    """Flags routing raised come down once someone has the ticket (a claim does not clear them in the ledger)."""
    if view.status not in WORKING_STATUSES or not view.assignee_id:
        return []
    return [Flag(f, False, f"assigned to {view.assignee_id}") for f in RAISED_FLAGS if view.flags.get(f)]
