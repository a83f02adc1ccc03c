"""Ticket views kept in memory while their partitions are held: no read for a kept view, a write only when a field
that addresses a notice changed, guarded writes, forgotten on a rebalance or a refusal, and the order of one
person's notices kept across a crash that lost the positions never written (real database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from test_notify_order import ANNA, NOW, event

from services.notify.handlers import NotifyHandler
from services.notify.memory import ViewConflict, ViewMemory
from services.notify.settings import NotifySettings
from services.notify.store import TICKETS, DirectoryCache, NotifyStore
from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.runtime.clock import ManualClock
from tests.support.testing import make_settings

OPENED = t.TicketOpened(channel=Channel.email, number=7, subject="No connection", text="Down", sender=ANNA)


class CountingStore(NotifyStore):
    reads = writes = 0

    async def read_views(self, ids: Any) -> Any:
        self.reads += 1
        return await super().read_views(ids)

    async def write_views(self, writes: Any) -> list[bool]:
        self.writes += 1
        return await super().write_views(writes)


@dataclass
class Desk:
    store: CountingStore
    memory: ViewMemory
    handler: NotifyHandler
    dirs: DirectoryCache
    settings: NotifySettings

    async def fold(self, msg: Message, cause: Envelope | None = None) -> Envelope:
        env = event(msg, cause=cause)
        await self.handler.on_ticket_event((env, msg))
        return env

    def restarted(self) -> Desk:
        store = CountingStore(self.store.db)
        memory = ViewMemory(store)
        return Desk(store, memory, NotifyHandler(memory, self.dirs, None, ManualClock(NOW), self.settings), self.dirs,
                    self.settings)

    async def stored(self) -> dict[str, Any]:
        return await self.store.db[TICKETS].find_one({"_id": "T-1"}) or {}


@pytest_asyncio.fixture
async def desk(env: dict[str, str], db: AsyncDatabase) -> AsyncIterator[Desk]:
    settings = make_settings(NotifySettings, env, directory_cache_seconds=0.0)
    store = CountingStore(db)
    memory, dirs = ViewMemory(store), DirectoryCache(db, 0.0)
    yield Desk(store, memory, NotifyHandler(memory, dirs, None, ManualClock(NOW), settings), dirs, settings)


async def test_a_kept_view_is_not_read_again_and_is_written_only_when_a_field_that_addresses_notices_changed(
        desk: Desk) -> None:
    await desk.fold(OPENED)  # an opening: taken to have no view, inserted
    assert (desk.store.reads, desk.store.writes) == (0, 1)
    await desk.fold(t.TicketAssigned(agent_id="ann", mode="claim"))
    await desk.fold(t.WorkStarted(agent_id="ann"))  # the same assignee: only status and position change
    await desk.fold(t.ReplySent(agent_id="ann", text="Restarted the port", channel=Channel.email))
    assert (desk.store.reads, desk.store.writes) == (0, 2)
    stored, kept = await desk.stored(), await desk.memory.view("T-1")
    assert stored["assignee_id"] == "ann" and stored["position"] == 2 and kept is not None and kept.position == 4


async def test_a_view_written_meanwhile_by_another_instance_refuses_the_write_and_is_read_again(desk: Desk) -> None:
    await desk.fold(OPENED)
    await desk.store.db[TICKETS].update_one({"_id": "T-1"}, {"$set": {"position": 5, "team_id": "other"}})
    with pytest.raises(ViewConflict):  # kept at position 1: the guard refuses
        await desk.fold(t.TicketAssigned(agent_id="ann", mode="claim"))
    assert len(desk.memory) == 0
    await desk.fold(t.TicketAssigned(agent_id="ann", mode="claim"))  # the retry reads what is stored
    stored = await desk.stored()
    assert desk.store.reads == 1 and stored["position"] == 6 and stored["team_id"] == "other"


async def test_a_redelivered_opening_finds_its_view_there_and_is_folded_onto_it_on_the_retry(desk: Desk) -> None:
    first = await desk.fold(OPENED)
    await desk.fold(t.TicketAssigned(agent_id="ann", mode="claim"))
    again = desk.restarted()
    with pytest.raises(ViewConflict):  # taken to be new: the insert is refused, nothing overwritten
        await again.handler.on_ticket_event((first, OPENED))
    assert (await desk.stored())["assignee_id"] == "ann"
    await again.handler.on_ticket_event((first, OPENED))
    assert again.store.reads == 1 and (await desk.stored())["assignee_id"] == "ann"


async def test_a_rebalance_forgets_every_kept_view(desk: Desk) -> None:
    await desk.fold(OPENED)
    await desk.memory.partitions_changed(set())
    assert len(desk.memory) == 0
    await desk.fold(t.WorkStarted(agent_id="ann"))
    assert desk.store.reads == 1


async def test_positions_never_written_are_not_reused_after_a_crash(desk: Desk) -> None:
    """Reply, a crash that loses the kept positions, then a resolution: the resolution's notice is not placed before
    the reply still waiting, and the client gets them in that order."""
    await desk.fold(OPENED)
    await desk.fold(t.TicketAssigned(agent_id="ann", mode="claim"))
    await desk.fold(t.WorkStarted(agent_id="ann"))
    await desk.fold(t.ReplySent(agent_id="ann", text="Restarted the port", channel=Channel.email))
    deliveries = desk.store.deliveries
    taken = await deliveries.find_one({"template": "ticket_taken"}) or {}
    reply = await deliveries.find_one({"template": "reply"}) or {}
    assert (await desk.stored())["position"] < reply["seq"] // 2  # the reply's position was never written
    await deliveries.update_one({"_id": taken["_id"]}, {"$set": {"status": "sent"}})
    after = desk.restarted()
    await after.fold(t.TicketResolved(agent_id="ann", problem="No line", solution="Port restarted",
                                      channel=Channel.email, sender=ANNA))
    resolved = await deliveries.find_one({"template": "ticket_resolved"}) or {}
    assert resolved["seq"] > reply["seq"]
    assert [d["template"] for d in await after.store.claim_batch("email", NOW, 60, 10)] == ["reply"]
