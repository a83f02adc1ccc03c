"""Linking a ticket to a client: who may, and the client as the directories hold it (the link-client action)."""

from __future__ import annotations

from typing import Any

from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import ClientRef
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, CONTRACTS
from shared.runtime.problems import ProblemError

from ...access.principal import LEADS, Principal
from ..deps import Context


def _unknown(title: str, detail: str) -> ProblemError:
    return ProblemError(422, title, detail, type="urn:frontline:unknown-reference")


async def directory_client(ctx: Context, ref: ClientRef) -> ClientRef:
    """The client as the directories have it: it must exist and be active, and a contract or contact named with
    it must be its own. Name, category and service team come from the directory, never from the caller (the
    service team decides who sees the ticket)."""
    client = await DirectoryStore(ctx.reads.db, CLIENTS).get(ref.client_id)
    if client is None or not client.active:
        raise _unknown("Unknown client", f"there is no active client {ref.client_id!r} in the clients directory")
    numbers = {n for n in (ref.contract_id, ref.contract_number) if n}
    if len(numbers) > 1:
        raise _unknown("Unknown contract", "contract_id and contract_number name different contracts")
    number = next(iter(numbers), None)
    contract = await DirectoryStore(ctx.reads.db, CONTRACTS).get(number) if number else None
    if number and (contract is None or contract.client_id != ref.client_id):
        raise _unknown("Unknown contract", f"contract {number!r} is not a contract of client {ref.client_id!r}")
    contact = await DirectoryStore(ctx.reads.db, CONTACTS).get(ref.contact_id) if ref.contact_id else None
    if ref.contact_id and (contact is None or contact.client_id != ref.client_id):
        raise _unknown("Unknown contact", f"contact {ref.contact_id!r} is not a contact of client {ref.client_id!r}")
    return ClientRef(client_id=client.id, client_name=client.name, contract_id=number, contract_number=number,
                     category=client.category, service_team_id=client.service_team_id, contact_id=ref.contact_id)


def link_command(p: Principal, ticket: dict[str, Any], client: ClientRef, reason: str | None) -> tickets.LinkClient:
    """An identified ticket is re-linked only by a team lead or administrator who says why (the ledger records
    the reason and the previous client in the ticket's history, and refuses a re-link without a reason)."""
    current = ticket.get("client") or None
    reason = (reason or "").strip() or None
    if current and ClientRef.model_validate(current) != client and (p.role not in LEADS or reason is None):
        raise ProblemError(409, "Already identified", f"the ticket is linked to client {current['client_id']}; "
                           "only a team lead or administrator re-links it, with a reason",
                           type="urn:frontline:command-rejected", code="already_identified")
    return tickets.LinkClient(client=client, linked_by=p.user_id, reason=reason)
