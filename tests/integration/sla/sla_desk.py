"""The SLA handler on the real database, called directly: a desk of instances sharing one database, the events of a
journey, and a write that fails once (the kept-clocks and event-batch tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sla_support import seed_sla

from services.sla import domain
from services.sla.batch import handle_many
from services.sla.handlers import SlaHandler
from services.sla.memory import KeptClocks
from services.sla.settings import SlaSettings
from services.sla.store import ClockStore, DirectoryCache
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.directory.sla import SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import db_commands, make_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0
POLICY = SlaPolicy(id="default", warning_share=0.8, targets=Targets(
    first_response_seconds=900, take_into_work_seconds=1800, resolution_seconds=8 * HOUR))  # as bench.journey


def reads() -> float:
    return db_commands("sla_clocks", "find") + db_commands("sla_timers", "find")


def timer_writes() -> float:
    return db_commands("sla_timers", "update") + db_commands("sla_timers", "delete")


@dataclass
class Desk:
    handler: SlaHandler
    store: ClockStore
    kept: KeptClocks
    directory: DirectoryCache

    async def event(self, tid: str, msg: Message, minutes: float) -> Envelope:
        env = envelope_for(msg, tid, occurred_at=T0 + timedelta(minutes=minutes), actor="test")
        await self.handler.handle(env, msg)
        return env

    async def batch(self, events: list[tuple[str, Message, float]]) -> list[tuple[Envelope, Message]]:
        """(ticket, message, minutes) handled as one consumed batch; returns the deliveries (to redeliver them)."""
        deliveries = [(envelope_for(msg, tid, occurred_at=T0 + timedelta(minutes=m), actor="test"), msg)
                      for tid, msg, m in events]
        await handle_many(self.handler, deliveries)
        return deliveries

    async def assert_exact(self, tid: str) -> domain.SlaClock:
        """The stored clock's one pending timer set is exactly the next step it implies (none left over)."""
        clock = await self.store.load(tid)
        assert clock is not None
        want = {p.id for p in domain.next_timers(domain.desired_timers(clock, await self.directory.catalog()))}
        have = {d["_id"] async for d in self.store.timers.col.find({"ticket_id": tid, "fired": False})}
        assert have == want
        return clock


@asynccontextmanager
async def desk(env: dict[str, str], kept: int = 100, publish: bool = False,
               ) -> AsyncIterator[Callable[..., Desk]]:
    """Instances of the SLA handler on one database; each call makes another (its own kept clocks), its clock at
    ``now`` (a minute past T0 unless given); ``publish``: their bus is started (outboxes go to the broker)."""
    settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_sla(db, POLICY)
    bus = KafkaBus(settings, "sla")

    def make(now: datetime = T0 + timedelta(minutes=1)) -> Desk:
        store = ClockStore(db)
        directory = DirectoryCache(db, 60.0, [], 0.8)
        memory = KeptClocks(kept)
        return Desk(SlaHandler(store, directory, bus, ManualClock(now), memory), store, memory, directory)
    if publish:
        await bus.start()
    try:
        yield make
    finally:
        if publish:
            await bus.stop()
        await client.close()


def opened() -> t.TicketOpened:
    return t.TicketOpened(channel=Channel.email, number=1)


def assigned(agent: str = "a1") -> t.TicketAssigned:
    return t.TicketAssigned(agent_id=agent, mode="claim")


def reply() -> t.ReplySent:
    return t.ReplySent(agent_id="a1", text="hi", channel=Channel.email, first_response=True)


def resolved() -> t.TicketResolved:
    return t.TicketResolved(agent_id="a1", problem="p", solution="s", channel=Channel.email,
                            sender=Sender(email="c@x.example"))



def once_failing(real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    calls = [0]

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("process died before the clock write")
        return await real(*args, **kwargs)
    return wrapper
