"""Which tickets a principal may see, as a MongoDB filter and as a predicate (the two must agree).

A ticket attached to a service team belongs to that team: only its members (and leads of it)
see it, even when they share a line with another team. A ticket without a team is visible to the
specialists of its line or group, and so is any ticket on a line that serves every client
(``TEAMLESS_LINES``: development, where sub-tickets carry their client's team for context only).
Its assignee and participants see it too. Being offered grants nothing: the scope is the same at
every status, and routing offers a team's tickets to that team only. A client sees his organisation's tickets, or,
with the "own" ticket access, only those of his own contact (the ticket's ``client.contact_id`` is his user id).
"""

from __future__ import annotations

from typing import Any

from shared.directory.routing import TEAMLESS_LINES

from .principal import Principal, UserRole

NOTHING: dict[str, Any] = {"_id": {"$in": []}}


def ticket_scope(p: Principal) -> dict[str, Any]:
    """Filter to AND with every ticket query; ``{}`` means everything (administrators)."""
    if p.role == UserRole.administrator:
        return {}
    if p.role == UserRole.client:
        if not p.client_id:
            return NOTHING
        if p.ticket_access == "own":
            return {"client.client_id": p.client_id, "client.contact_id": p.user_id}
        return {"client.client_id": p.client_id}
    ors: list[dict[str, Any]] = [{"assignee_id": p.user_id}, {"participants.user_id": p.user_id}]
    if p.team_ids:
        ors.append({"service_team_id": {"$in": p.team_ids}})
    unteamed: list[dict[str, Any]] = []
    if p.line_ids:
        unteamed.append({"line": {"$in": p.line_ids}})
    if p.group_ids:
        unteamed.append({"group_id": {"$in": p.group_ids}})
    if unteamed:
        ors.append({"$and": [{"service_team_id": None}, {"$or": unteamed}]})
    teamless = [ln for ln in p.line_ids if ln in TEAMLESS_LINES]
    if teamless:
        ors.append({"line": {"$in": teamless}})
    if p.role == UserRole.team_lead and p.team_agent_ids:
        ors.append({"assignee_id": {"$in": p.team_agent_ids}})
    return {"$or": ors}


def visible(p: Principal, doc: dict[str, Any]) -> bool:
    """The same rule as :func:`ticket_scope`, for one ticket document (live updates, actions)."""
    if p.role == UserRole.administrator:
        return True
    if p.role == UserRole.client:
        client = doc.get("client") or {}
        if p.ticket_access == "own" and client.get("contact_id") != p.user_id:
            return False
        return bool(p.client_id) and client.get("client_id") == p.client_id
    if doc.get("assignee_id") == p.user_id:
        return True
    if any(part.get("user_id") == p.user_id for part in doc.get("participants") or []):
        return True
    team = doc.get("service_team_id")
    if team is not None and team in p.team_ids:
        return True
    if team is None:
        if doc.get("line") in p.line_ids or (doc.get("group_id") is not None and doc.get("group_id") in p.group_ids):
            return True
    elif doc.get("line") in TEAMLESS_LINES and doc.get("line") in p.line_ids:
        return True
    return p.role == UserRole.team_lead and doc.get("assignee_id") in set(p.team_agent_ids)


def may_act_for(p: Principal, agent_id: str) -> bool:
    """Whose queues and availability a principal may look at or change."""
    if agent_id == p.user_id or p.role == UserRole.administrator:
        return True
    return p.role == UserRole.team_lead and agent_id in p.team_agent_ids


def and_all(*parts: dict[str, Any]) -> dict[str, Any]:
    """Conjunction kept as flat as possible: planners pick indexes from top-level fields, not from ``$and``."""
    flat: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    for part in parts:
        for key, value in part.items():
            if key in flat or key == "$and":
                rest.extend(value if key == "$and" else [{key: value}])
            else:
                flat[key] = value
    if rest:
        flat["$and"] = rest
    return flat
