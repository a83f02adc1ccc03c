"""The ledger takes a partition's fetched commands as one batch, on the real broker and database; a consumer killed
between the batch's write and its offset commit leaves every command with exactly one effect: each event stored
once, every stored event published (again, under the same id), no ticket numbered twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import KafkaBus
from tests.support.testing import Tap, eventually, make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICKETS = 24


class Killed(BaseException):
    """Not an error a handler meets: it ends the consumer's loop, as a dead process would, before any commit."""


async def test_a_ledger_killed_after_its_batch_write_has_each_command_take_effect_once(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    bus = KafkaBus(settings, "test")
    await bus.start()
    try:  # all in the topic before the ledger starts: its first fetches bring several commands a partition
        for i in range(TICKETS):
            tid = f"T-batch-{i}"
            await bus.publish_many(TICKETS_COMMANDS, [
                envelope_for(t.OpenTicket(channel=Channel.web, subject=f"s{i}", text="down"), tid, occurred_at=NOW,
                             id=f"open-{i}"),
                envelope_for(t.OfferTicket(agent_ids=["ann"], line="first"), tid, occurred_at=NOW, id=f"offer-{i}"),
                envelope_for(t.ClaimTicket(agent_id="ann"), tid, occurred_at=NOW, id=f"claim-{i}")])
    finally:
        await bus.stop()

    ledger = tickets_app(settings)
    service = ledger.state.service
    write, batches = service.store.save_batch, []

    async def write_then_die(writes: list[object], recorded: list[object]) -> None:
        await write(writes, recorded)  # type: ignore[arg-type]
        batches.append(len(writes))
        if len(batches) == 1:
            raise Killed

    service.store.save_batch = write_then_die
    async with running(ledger), Tap(settings, TICKETS_EVENTS) as tap:
        tickets = service.store.tickets
        await eventually(lambda: _all_claimed(tickets), timeout=90, message="every ticket claimed")
        stored = [doc async for doc in tickets.find({"_id": {"$regex": "^T-batch-"}})]
        history_ids = [e["id"] for doc in stored for e in doc["history"]]
        await eventually(lambda: set(history_ids) <= {e.id for e in tap.items}, timeout=60,
                         message="every stored event published")
    assert service.consumer.restarts >= 1 and batches[0] > 1  # the kill hit a real batch
    assert len(stored) == TICKETS and len({d["number"] for d in stored}) == TICKETS
    assert max(Counter(history_ids).values()) == 1  # no event stored twice
    for doc in stored:
        i = doc["_id"].removeprefix("T-batch-")
        assert sorted(doc["processed_commands"]) == sorted([f"open-{i}", f"offer-{i}", f"claim-{i}"])
        assert [e["type"] for e in doc["history"]][-1] == "TicketAssigned"
    published = Counter(e.id for e in tap.items if e.ticket_id.startswith("T-batch-"))
    assert set(published) == set(history_ids)  # nothing published that was not stored


async def _all_claimed(tickets: object) -> bool:
    await asyncio.sleep(0)
    n = await tickets.count_documents({"_id": {"$regex": "^T-batch-"}, "assignee_id": "ann"})  # type: ignore[attr-defined]
    return bool(n == TICKETS)
