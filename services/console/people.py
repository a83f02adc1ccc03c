"""The development sign-in's people: the desk's agents, the built-in administrator and client contacts, read
from the gateway with an administrator token the console mints for itself, and the gateway token minted for the
person picked (the claim layout of shared/contracts/tokens.py, as `frontline token` and the demo mint it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.contracts.tokens import TokenSigner, mint_token

from .gateway import Api, GatewayClient
from .settings import ConsoleSettings

ADMIN_ID = "admin"
CONSOLE_ADMIN = "console-dev-sign-in"  # the console's own identity while it lists people
LIST_LIMIT = 200


@dataclass(frozen=True)
class Person:
    key: str  # what the form sends: "admin", "agent:<id>", "contact:<id>"
    user_id: str
    name: str
    role: str
    claims: dict[str, Any] = field(default_factory=dict)


def signer(settings: ConsoleSettings) -> TokenSigner:
    return TokenSigner(jwt_secret=settings.dev_jwt_secret, token_ttl_seconds=settings.session_ttl_seconds)


def console_admin(settings: ConsoleSettings, gateway: GatewayClient) -> Api:
    return gateway.as_user(mint_token(signer(settings), CONSOLE_ADMIN, "administrator", ttl_seconds=300))


def agent_person(agent: dict[str, Any]) -> Person:
    roles = agent.get("roles") or []
    role = "administrator" if "administrator" in roles else "team_lead" if "team_lead" in roles else "specialist"
    return Person(key=f"agent:{agent['id']}", user_id=str(agent["id"]), name=str(agent.get("name") or agent["id"]),
                  role=role, claims={"lines": agent.get("line_ids") or [], "groups": agent.get("group_ids") or [],
                                     "teams": agent.get("team_ids") or []})


def contact_person(contact: dict[str, Any]) -> Person:
    return Person(key=f"contact:{contact['id']}", user_id=str(contact["id"]),
                  name=str(contact.get("name") or contact["id"]), role="client",
                  claims={"client_id": str(contact["client_id"])})


ADMIN = Person(key="admin", user_id=ADMIN_ID, name="Administrator", role="administrator")


async def desk_people(api: Api) -> list[Person]:
    """Everyone the page offers, staff first; from the gateway only, so it shows what the desk really has."""
    agents = (await api.get("/agents", params={"limit": LIST_LIMIT})).get("items", [])
    entries = (await api.get("/admin/directories/contacts", params={"limit": LIST_LIMIT})).get("items", [])
    contacts = [e["data"] for e in entries if isinstance(e, dict) and isinstance(e.get("data"), dict)]
    return ([ADMIN] + [agent_person(a) for a in agents if a.get("id")]
            + [contact_person(c) for c in contacts if c.get("id") and c.get("client_id")])


def token_for(settings: ConsoleSettings, person: Person) -> str:
    return mint_token(signer(settings), person.user_id, person.role, name=person.name, **person.claims)
