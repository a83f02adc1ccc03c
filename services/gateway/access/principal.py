"""Who is calling: the user (or system) behind a request, and what their role lets them see."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class UserRole(StrEnum):
    specialist = "specialist"
    team_lead = "team_lead"
    administrator = "administrator"
    client = "client"


# When a token carries several roles, the most privileged one decides.
ROLE_RANK = {UserRole.client: 0, UserRole.specialist: 1, UserRole.team_lead: 2, UserRole.administrator: 3}
STAFF = frozenset({UserRole.specialist, UserRole.team_lead, UserRole.administrator})
LEADS = frozenset({UserRole.team_lead, UserRole.administrator})
# Portal users' right over their organisation's tickets (claim ``ticket_access``; the scope applies it).
TicketAccess = Literal["organisation", "own"]


class Principal(BaseModel):
    user_id: str = Field(description="Recorded as the actor of every command this user sends")
    role: UserRole
    name: str | None = None
    line_ids: list[str] = Field(default_factory=list)
    group_ids: list[str] = Field(default_factory=list)
    team_ids: list[str] = Field(default_factory=list)
    client_id: str | None = Field(None, description="Portal users: the client whose tickets they may see")
    ticket_access: TicketAccess = Field("organisation", description="Portal users: all of the client's tickets, "
                                        "or only those of their own contact")
    tenant_id: str | None = None
    team_agent_ids: list[str] = Field(default_factory=list, description="Leads: the agents of their teams")
    via: Literal["jwt", "oidc", "api_key"] = "jwt"

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.administrator

    @property
    def is_lead(self) -> bool:
        return self.role in LEADS


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v)]
    return []


def role_from_claims(claims: dict[str, Any]) -> UserRole | None:
    """``role`` or ``roles`` (also Keycloak's ``realm_access.roles``); unknown names are ignored."""
    names = _strings(claims.get("role")) + _strings(claims.get("roles"))
    realm = claims.get("realm_access")
    if isinstance(realm, dict):
        names += _strings(realm.get("roles"))
    known = [UserRole(n) for n in names if n in UserRole.__members__]
    return max(known, key=lambda r: ROLE_RANK[r]) if known else None


def principal_from_claims(claims: dict[str, Any], via: Literal["jwt", "oidc", "api_key"] = "jwt") -> Principal | None:
    role = role_from_claims(claims)
    sub = claims.get("sub")
    if role is None or not isinstance(sub, str) or not sub:
        return None
    client_id = claims.get("client_id")
    return Principal(
        user_id=sub, role=role, name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        line_ids=_strings(claims.get("lines")), group_ids=_strings(claims.get("groups")),
        team_ids=_strings(claims.get("teams")), client_id=str(client_id) if client_id else None,
        tenant_id=str(claims["tenant"]) if claims.get("tenant") else None, via=via,
        # an unreadable right narrows, never widens
        ticket_access="organisation" if claims.get("ticket_access") in (None, "organisation") else "own")
