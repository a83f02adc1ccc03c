"""Who wrote: many senders identified at once, with one read per identity kind in use and one each for the
contracts and clients they lead to, plus the known contact an address imitates. The one-sender look-ups of
``IntakeStore`` are the case of a list of one, so both paths decide by the same rules."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.schemas.common import ClientRef, Sender
from shared.directory.contacts import CLIENTS, CONTACTS, CONTRACTS

from .identity import identities, lookalike_probe

Doc = dict[str, Any]
Found = dict[tuple[str, str], Doc]  # (identity field, value) -> the contact holding it with the lowest id
FIELDS = ("emails", "phones", "chat_ids")  # identities() order: most specific first
CACHED_CLIENTS = 10_000


@dataclass(frozen=True)
class Wanted:
    sender: Sender
    contract_number: str | None = None


@dataclass(frozen=True)
class Identified:
    client: ClientRef | None
    twin: tuple[str, str] | None = None  # (the contact address imitated, that contact's id): not identified


def first_contact(sender: Sender, found: Found) -> Doc | None:
    """The contact of the sender's most specific identity that any contact holds (lowest id among them)."""
    return next((found[i] for i in identities(sender) if i in found), None)


def twin_of(sender: Sender, found: Found) -> tuple[str, str] | None:
    """(the contact address ``sender``'s e-mail imitates, that contact's id); None when it imitates nobody or is
    itself a contact's address. Finds look-alikes of plain addresses, which is what contacts hold."""
    probe = lookalike_probe(sender.email) if sender.email else None
    if probe is None or ("emails", sender.email) in found:
        return None
    twin = found.get(("emails", probe))
    return (probe, str(twin["_id"])) if twin else None


def _keep_lowest(found: Found, docs: Iterable[Doc], field: str, values: set[str]) -> None:
    """What ``find_one({field: value}, sort=[("_id", 1)])`` returns, for every value at once."""
    for doc in docs:
        held = doc.get(field)
        for value in held if isinstance(held, list) else [held]:
            if isinstance(value, str) and value in values:
                key = (field, value)
                if key not in found or str(doc["_id"]) < str(found[key]["_id"]):
                    found[key] = doc


class SenderDirectory:
    def __init__(self, db: AsyncDatabase, cache_seconds: float = 0.0) -> None:
        """``cache_seconds``: how long a client read is used again (a contact's is not: there are many and each
        writes rarely, while a client's many contacts write often)."""
        self.contacts = db[CONTACTS.collection]
        self.contracts = db[CONTRACTS.collection]
        self.clients = db[CLIENTS.collection]
        self.cache_seconds = cache_seconds
        self._clients: dict[str, tuple[float, Doc]] = {}

    async def identify_many(self, wanted: Sequence[Wanted], *, lookalikes: bool = True) -> list[Identified]:
        """In ``wanted``'s order. With ``lookalikes``, an address imitating a contact's is not identified."""
        found = await self._contacts(wanted, lookalikes)
        twins = [twin_of(w.sender, found) if lookalikes else None for w in wanted]
        contacts = [None if twin else first_contact(w.sender, found) for w, twin in zip(wanted, twins, strict=True)]
        named = {w.contract_number for w in wanted if w.contract_number}
        contracts = await self._by_id(self.contracts, named)
        owners: list[tuple[str, str | None, str | None] | None] = []  # (client id, contract, contact id)
        for w, twin, contact in zip(wanted, twins, contacts, strict=True):
            owners.append(None if twin else self._owner(w, contact, contracts))
        clients = await self._clients_by_id({o[0] for o in owners if o})
        defaults = await self._first_contracts({o[0] for o in owners if o and o[1] is None and o[0] in clients})
        out = []
        for twin, owner in zip(twins, owners, strict=True):
            client = clients.get(owner[0]) if owner else None
            if owner is None or client is None:
                out.append(Identified(None, twin))
                continue
            client_id, contract, contact_id = owner
            contract = contract if contract is not None else defaults.get(client_id)
            out.append(Identified(ClientRef(
                client_id=client_id, client_name=client.get("name"), contract_id=contract, contract_number=contract,
                category=client.get("category"), service_team_id=client.get("service_team_id"),
                contact_id=contact_id)))
        return out

    @staticmethod
    def _owner(w: Wanted, contact: Doc | None, contracts: dict[str, Doc]) -> tuple[str, str | None, str | None] | None:
        named = contracts.get(w.contract_number) if w.contract_number else None
        if contact is None:
            return (named["client_id"], w.contract_number, None) if named and named.get("active") is True else None
        # a contract of someone else's is not trusted; the contact's own contract then
        own = w.contract_number if named and named.get("client_id") == contact["client_id"] else None
        return contact["client_id"], own or contact.get("contract_number"), str(contact["_id"])

    async def _contacts(self, wanted: Sequence[Wanted], lookalikes: bool) -> Found:
        """One read per identity kind, each only for the senders no more specific identity found yet."""
        found: Found = {}
        for field in FIELDS:
            values = {v for w in wanted if first_contact(w.sender, found) is None
                      for f, v in identities(w.sender) if f == field}
            if field == "emails" and lookalikes:
                values |= {p for w in wanted if w.sender.email and (p := lookalike_probe(w.sender.email))}
            if values:
                _keep_lowest(found, await self.contacts.find({field: {"$in": sorted(values)}}).to_list(None),
                             field, values)
        return found

    @staticmethod
    async def _by_id(coll: Any, ids: set[str]) -> dict[str, Doc]:
        if not ids:
            return {}
        return {str(d["_id"]): d async for d in coll.find({"_id": {"$in": sorted(ids)}})}

    async def _clients_by_id(self, ids: set[str]) -> dict[Any, Doc]:
        """Clients read within ``cache_seconds`` from memory, the others in one read."""
        now = time.monotonic()
        out = {i: hit[1] for i in ids if (hit := self._clients.get(i)) and now - hit[0] < self.cache_seconds}
        read = await self._by_id(self.clients, ids - out.keys())
        if self.cache_seconds > 0:
            if len(self._clients) > CACHED_CLIENTS:
                self._clients.clear()
            self._clients.update((i, (now, doc)) for i, doc in read.items())
        return {**out, **read}

    async def _first_contracts(self, client_ids: set[str]) -> dict[str, str]:
        """Each client's active contract with the lowest number."""
        first: dict[str, str] = {}
        if client_ids:
            async for c in self.contracts.find({"client_id": {"$in": sorted(client_ids)}, "active": True}):
                cid, number = str(c["client_id"]), str(c["_id"])
                if cid not in first or number < first[cid]:
                    first[cid] = number
        return first
