"""The portal's "own tickets only" right: the scope filter and the predicate agree, and an unreadable claim narrows."""

from typing import Any

from services.gateway.access.principal import Principal, UserRole, principal_from_claims
from services.gateway.access.scope import ticket_scope, visible

TICKETS: list[dict[str, Any]] = [
    {"client": {"client_id": "C-1", "contact_id": "P-1"}}, {"client": {"client_id": "C-1", "contact_id": "P-2"}},
    {"client": {"client_id": "C-1"}}, {"client": {"client_id": "C-2", "contact_id": "P-1"}}, {"client": None}]


def matches(query: dict[str, Any], doc: dict[str, Any]) -> bool:
    """The flat equality filters the client scope builds, evaluated on one document."""
    for path, value in query.items():
        node: Any = doc
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node != value:
            return False
    return True


def test_own_tickets_only_sees_the_contacts_tickets_of_his_client_and_the_two_rules_agree() -> None:
    own = Principal(user_id="P-1", role=UserRole.client, client_id="C-1", ticket_access="own")
    organisation = Principal(user_id="P-1", role=UserRole.client, client_id="C-1")
    assert [visible(own, t) for t in TICKETS] == [True, False, False, False, False]
    assert [visible(organisation, t) for t in TICKETS] == [True, True, True, False, False]
    for p in (own, organisation):
        assert [matches(ticket_scope(p), t) for t in TICKETS] == [visible(p, t) for t in TICKETS]


def test_the_claim_is_read_and_anything_unreadable_narrows() -> None:
    def access(value: Any) -> str:
        claims = {"sub": "P-1", "role": "client", "client_id": "C-1"}
        p = principal_from_claims(claims if value is None else {**claims, "ticket_access": value})
        assert p is not None
        return p.ticket_access

    assert [access(v) for v in (None, "organisation", "own", "everyone", ["organisation"], 1)] == \
        ["organisation", "organisation", "own", "own", "own", "own"]
