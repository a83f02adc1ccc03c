"""Routing decides the records that come alone from partitions fetched together in one joint batch
(``shared/runtime/coalesce.py``), on the real broker and database: tickets of many partitions cost one view insert,
not one each; every ticket is offered exactly once. A joint batch that fails after its writes landed (unknown to it)
has each partition handle its records alone again: each ticket keeps one view and one offer id (a repeat carries the
first offer's id)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timers import partition_for
from tests.support.routing_batch import NOW
from tests.support.testing import Tap, db_commands, eventually, make_settings, running

TICKETS = 8


def _one_per_partition() -> list[str]:
    """Ticket ids of distinct partitions: each partition's fetch brings one record, which comes alone."""
    ids: dict[int, str] = {}
    for i in range(1000):
        ids.setdefault(partition_for(f"T-j{i}", TICKETS_EVENTS.partitions), f"T-j{i}")
    return sorted(ids.values())[:TICKETS]


IDS = _one_per_partition()


class Lost(Exception):
    """The joint batch's write landed, but its answer was lost."""


def opened(ticket_id: str) -> Envelope:
    return envelope_for(t.TicketOpened(channel=Channel.web, subject="down", number=1, line="first"), ticket_id,
                        occurred_at=NOW, actor="tickets", id=f"open-{ticket_id}")


async def seed(settings: RoutingSettings) -> None:
    await ensure_topics(settings)
    client = mongo_client(settings)
    db = database(client, settings)
    await DirectoryStore(db, LINES).put(Line(id="first", order=1), actor="test", at=NOW)
    await DirectoryStore(db, AGENTS).put(Agent(id="ann", name="Ann", line_ids=["first"]), actor="test", at=NOW)
    await client.close()
    bus = KafkaBus(settings, "tickets")
    await bus.start()
    try:
        await bus.publish_many(TICKETS_EVENTS, [opened(tid) for tid in IDS])
    finally:
        await bus.stop()


async def test_tickets_of_many_partitions_cost_one_view_write_and_a_failed_joint_batch_offers_none_twice(
        env: dict[str, str]) -> None:
    settings = make_settings(RoutingSettings, env, coalesce_ms=30)
    await seed(settings)
    app = routing_app(settings)
    service = app.state.service
    save_many, joint, kills, first_write = service.projection.store.save_many, [], [], []

    async def save_then_die(saves: Any) -> None:
        before = db_commands("routing_tickets")
        await save_many(saves)
        if not joint:
            first_write.append(db_commands("routing_tickets") - before)
        joint.append(len(saves))
        if not kills:
            kills.append(1)
            raise Lost

    service.projection.store.save_many = save_then_die
    async with Tap(settings, TICKETS_COMMANDS) as commands, running(app):
        await eventually(lambda: {e.ticket_id for e in commands.items if e.type == "OfferTicket"}
                         >= set(IDS), timeout=60, message="every ticket offered")
        await eventually(lambda: service.consumer.processed >= TICKETS, timeout=30, message="every record handled")
        views = [d async for d in service.db["routing_tickets"].find({"_id": {"$regex": "^T-j"}})]
    offers = [e for e in commands.items if e.type == "OfferTicket"]
    # the first joint batch wrote the views of several partitions' tickets in one command
    assert joint[0] > TICKETS // 2 and first_write[0] == 1
    by_ticket = Counter(e.ticket_id for e in offers)
    assert set(by_ticket) == set(IDS)
    for ticket_id in by_ticket:  # a repeat after the failure carries the first offer's id
        assert len({e.id for e in offers if e.ticket_id == ticket_id}) == 1
    # each view written once (the second handling found its event applied), the opening applied once
    assert len(views) == TICKETS and all(v["_v"] == 1 and v["applied"].count(f"open-{v['_id']}") == 1
                                         for v in views)
