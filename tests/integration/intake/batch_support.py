"""One intake pipeline on its own database and topics (real broker and database), to run messages one by one in
one world and as a batch in another and compare what each recorded and published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.batch import InboundBatch
from services.intake.handlers import INDEXES, Pipeline
from services.intake.settings import IntakeSettings
from services.intake.store import CONVERSATIONS, MESSAGES, TICKET_KEYS, TICKETS, IntakeStore
from shared.contracts.envelope import Envelope
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.contacts import CONTACTS, ContactPerson
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.integration.intake.intake_support import SEED_AT, seed
from tests.support.testing import Tap, eventually, isolated_env, make_settings

AT = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
WRITES = {"insert", "update", "delete", "findAndModify"}


class Commands(monitoring.CommandListener):
    """Every command this world's client sends, by name and collection."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.sent.append((event.command_name, target if isinstance(target, str) else ""))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.sent if c[0] in WRITES]


async def seed_claims(db: AsyncDatabase) -> None:
    """Kate (a contact a look-alike imitates); Boris's conversation on an open ticket; an unknown sender's on a
    ticket closed a day ago (past the reopen window)."""
    await DirectoryStore(db, CONTACTS).put(ContactPerson(id="kate", client_id="acme", name="Kate",
                                                         emails=["kate@acme.example"]), actor="test", at=SEED_AT)
    await db[TICKETS].insert_many([{"_id": "T-open", "status": "in_progress", "number": 1},
                                   {"_id": "T-closed", "status": "closed", "number": 2,
                                    "closed_at": AT - timedelta(days=1)}])
    await db[CONVERSATIONS].insert_many([{"_id": "contact:boris", "ticket_id": "T-open"},
                                         {"_id": "sender:old@closed.example", "ticket_id": "T-closed"}])
    await db[TICKET_KEYS].insert_many([{"_id": "T-open", "keys": ["contact:boris"]},
                                       {"_id": "T-closed", "keys": ["sender:old@closed.example"]}])


@dataclass
class World:
    settings: IntakeSettings
    db: AsyncDatabase
    pipeline: Pipeline
    batch: InboundBatch
    tap: Tap
    commands: Commands
    seen: list[str] = field(default_factory=list)

    async def state(self) -> dict[str, list[dict[str, Any]]]:
        """Everything intake wrote, in a stable order."""
        return {name: [d async for d in self.db[name].find({}).sort("_id", 1)]
                for name in (MESSAGES, CONVERSATIONS, TICKET_KEYS)}

    async def published(self, count: int) -> list[Envelope]:
        """The commands on tickets.commands once there are ``count``."""
        await eventually(lambda: len(self.tap.items) >= count or None, 30.0, message=f"{count} commands")
        return list(self.tap.items)


@asynccontextmanager
async def second_pod(w: World) -> AsyncIterator[Pipeline]:
    """Another intake pod on the same database and topics: its own client and producer."""
    client = mongo_client(w.settings)
    bus = KafkaBus(w.settings, "intake")
    await bus.start()
    try:
        yield Pipeline(IntakeStore(database(client, w.settings)), bus, w.pipeline.clock, domain=w.pipeline.domain,
                       region=w.pipeline.region, rule=w.pipeline.rule, reopen_window=w.pipeline.reopen_window)
    finally:
        await bus.stop()
        await client.close()


def by_ticket(envelopes: list[Envelope]) -> dict[str, list[dict[str, Any]]]:
    """Each ticket's commands in their order (one partition each: the order a ledger sees)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for e in envelopes:
        out.setdefault(e.ticket_id, []).append(e.model_dump(mode="json"))
    return out


@asynccontextmanager
async def world(env: dict[str, str]) -> AsyncIterator[World]:
    settings = make_settings(IntakeSettings, {**env, **isolated_env()})
    commands = Commands()
    client = mongo_client(settings, event_listeners=[commands])
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    await seed(db)
    await seed_claims(db)
    bus = KafkaBus(settings, "intake")
    pipeline = Pipeline(IntakeStore(db), bus, ManualClock(AT), domain=settings.mail_domain,
                        region=settings.default_region, rule=settings.ticket_rule,
                        reopen_window=timedelta(seconds=settings.reopen_window_seconds))
    try:
        async with Tap(settings, TICKETS_COMMANDS) as tap:
            await bus.start()
            yield World(settings, db, pipeline, InboundBatch(pipeline), tap, commands)
    finally:
        await bus.stop()
        await client.close()


def messages() -> list[InboundMessage]:
    """A batch with every kind of message the batch path decides itself, and the rare ones it hands over."""
    def web(ext: str, **kw: Any) -> InboundMessage:
        return InboundMessage.model_validate({"channel": "web", "external_id": ext, "text": "help", **kw})

    return [
        web("w1", sender={"email": "u1@x.example"}),
        web("w2", sender={"email": "Anna@ACME.example"}, subject="no connection"),  # a contact, urgent
        InboundMessage(channel="chat", external_id="c1", sender={"chat_id": "tg:anna"}, text="same person"),
        web("w3", sender={"email": "u1@x.example"}),  # the same conversation as w1, in the same batch
        web("w1", sender={"email": "u1@x.example"}),  # a repeat of w1: published again, decided once
        web("w4", sender={"email": "\u212aate@acme.example"}),  # a look-alike of Kate's address
        web("w5", sender={"email": "nobody@else.example"}, contract_number="G-7"),  # only a contract named
        web("w6", sender={"email": "greta@globex.example"}, contract_number="C-100"),  # someone else's contract
        web("w7", sender={"email": "boris@acme.example"}),  # joins his open ticket
        web("w8", sender={"email": "old@closed.example"}),  # his ticket is closed: a new one
        web("w9", sender={"email": "old@closed.example"}),  # ... which the next message joins
        InboundMessage(channel="email", external_id="e1", sender={"email": "u2@x.example"},
                       subject="Re: [#4242] still broken", text="tag"),  # cites a ticket: one by one
        web("w10", sender={"email": "u1@x.example"}),  # after the one-by-one message, the batch goes on
        web("w11", sender={"email": "bot@x.example"}, auto_submitted=True),  # recorded, never a ticket
        web("w0", sender={"email": "u3@x.example"}),  # decided before the batch (see the test)
        InboundMessage(channel="phone", external_id="p1", sender={"phone": "+7 912 345-67-89"}),  # Anna's phone
        InboundMessage(channel="email", external_id="e2", sender={"email": "u4@x.example"},
                       in_reply_to="<abc@elsewhere.example>", text="reply"),
        web("w12", sender={"phone": "+7 495 000-00-01"}),  # an unknown phone
    ]
