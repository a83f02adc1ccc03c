"""Intake's verbs on the one in-process desk (``tests.support.desk``), and the seeded contacts directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.schemas.common import TicketType
from shared.directory import DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES, Subtopic, Topic, TopicType, UrgencyRule
from shared.directory.contacts import CLIENTS, CONTACTS, CONTRACTS, Client, ContactPerson, Contract
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually

SEED_AT = datetime(2026, 3, 1, tzinfo=UTC)


async def seed(db: AsyncDatabase) -> None:
    """Two clients: Acme (premium, team-acme, contract C-100) and Globex (standard, contract G-7)."""
    put = {"actor": "test", "at": SEED_AT}
    await DirectoryStore(db, CLIENTS).put(Client(id="acme", name="Acme", category="premium",
                                                 service_team_id="team-acme"), **put)
    await DirectoryStore(db, CLIENTS).put(Client(id="globex", name="Globex", category="standard"), **put)
    await DirectoryStore(db, CONTRACTS).put(Contract(number="C-100", client_id="acme"), **put)
    await DirectoryStore(db, CONTRACTS).put(Contract(number="G-7", client_id="globex"), **put)
    contacts = DirectoryStore(db, CONTACTS)
    await contacts.put(ContactPerson(id="anna", client_id="acme", name="Anna", emails=["anna@acme.example"],
                                     phones=["+79123456789"], chat_ids=["tg:anna"]), **put)
    await contacts.put(ContactPerson(id="boris", client_id="acme", name="Boris", emails=["boris@acme.example"],
                                     phones=["+79120000001"], chat_ids=["tg:boris"]), **put)
    await contacts.put(ContactPerson(id="greta", client_id="globex", name="Greta", emails=["greta@globex.example"],
                                     phones=["+74951234567"], chat_ids=["tg:greta"], contract_number="G-7"), **put)
    await DirectoryStore(db, TOPICS).put(Topic(
        id="tariffs", product_required=True,
        types=[TopicType(type=TicketType.consultation, subtopics=[Subtopic(id="price")]),
               TopicType(type=TicketType.complaint, subtopics=[Subtopic(id="overcharge")])]), **put)
    await DirectoryStore(db, TOPICS).put(Topic(
        id="internet", service_id="internet",
        types=[TopicType(type=TicketType.request, subtopics=[Subtopic(id="outage", sub_service_id="fiber")]),
                              TopicType(type=TicketType.consultation)]), **put)
    await DirectoryStore(db, URGENCY_RULES).put(UrgencyRule(id="no-connection", keywords=["no connection"]), **put)


class IntakeDesk(Desk):
    async def tickets(self, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [d async for d in self.db.tickets.find(query or {}, {"history": 0}).sort("number", 1)]

    async def wait_tickets(self, n: int, query: dict[str, Any] | None = None, timeout: float = 15.0,
                           ) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            found = await self.tickets(query)
            return found if len(found) >= n else None
        return await eventually(check, timeout, message=f"{n} tickets matching {query}")

    async def wait_messages(self, ticket_id: str, n: int, timeout: float = 15.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            doc = await self.db.tickets.find_one({"_id": ticket_id}, {"history": 0})
            return doc if doc and doc["message_count"] >= n else None
        return await eventually(check, timeout, message=f"{n} messages on {ticket_id}")


@asynccontextmanager
async def stack(env: dict[str, str], **overrides: Any) -> AsyncIterator[IntakeDesk]:
    """Ledger + intake (the desk's front) running in this loop on the real broker and database, directory seeded."""
    async with running_desk(env, None, ["intake"], settings={"intake": overrides}, base_url="http://intake",
                            before=seed) as d:
        yield IntakeDesk(**vars(d))
