"""``tickets.events`` → clock records + timers (one event here; a consumed batch in batch.py; due timers in firing.py).

Crash safety. Timers are synced before the clock is saved, so a redelivered event recomputes the same deterministic
timers; an event's outbox is published, then cleared. A crash anywhere repeats the publish with the same ids, which
the ledger and the readers of ``sla.events`` dedupe; nothing is lost and order per ticket holds.

Kept clocks (memory.py). An event of a ticket whose clock this instance wrote last applies to that clock without
reading it, and its timers are synced by difference from the plans they were last synced to (nothing written when
the next step stays); a retry after a refused write reads both again.

Event time. An event is applied after the ticket's timers that fell due before it (``_overdue``),
so what fires does not depend on how far the timer loop lags: after a restart or a rebalance the
new owner may replay a resolve from the backlog before its loop got to the warning that was due
before it, and the warning must still fire (it did fall due), exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.runtime.clock import Clock
from shared.runtime.kafka import KafkaBus
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.timers import Patience, Timer, partition_for

from . import domain, risk
from .firing import OVERDUE_MAX, TimerPasses
from .memory import KeptClocks
from .model import Catalog, SlaClock, TimerPlan
from .outbox import command_entry, publish, timer_envelopes
from .store import ClockStore, DirectoryCache, StaleClock

log = logging.getLogger(__name__)
CAS_ATTEMPTS = 20


class SlaHandler(TimerPasses):
    def __init__(self, store: ClockStore, directory: DirectoryCache, bus: KafkaBus, clock: Clock,
                 kept: KeptClocks | None = None) -> None:
        self.store, self.directory, self.bus, self.clock = store, directory, bus, clock
        self.kept = kept if kept is not None else KeptClocks(0)  # none kept unless the service gives a size
        self._locks: dict[str, asyncio.Lock] = {}
        self.patience = Patience()  # for a timer whose clock record is not saved yet (its event mid-flight)
        # Timers whose pass published its outboxes and released the tickets; the loop marks them fired right after
        # (before its next pass). An event handled in between must not take their outbox for unpublished.
        self._published: set[str] = set()

    def _lock(self, ticket_id: str) -> asyncio.Lock:
        lock = self._locks.get(ticket_id)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[ticket_id] = asyncio.Lock()
        return lock

    # ---- events ---------------------------------------------------------------------------------

    async def handle(self, env: Envelope, msg: Message) -> None:
        if not domain.moves_clock(msg):
            # Nothing to apply; steps that fell due before it are the timer loop's, decided on the same state.
            return
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)
        catalog = await self.directory.catalog()
        tid = env.ticket_id
        async with self._lock(tid):
            synced = False
            for attempt in range(CAS_ATTEMPTS):
                before, known = await self._before(tid, msg, first=attempt == 0)
                after = domain.apply(before, tid, env.id, msg, env.occurred_at, catalog)
                if after is None or after is before:
                    if synced and before is not None:
                        # Our earlier attempt synced timers from a view that then lost the compare-and-set to
                        # another writer (two owners overlapping in a rebalance), possibly after that writer's
                        # own sync: make the timers match the state that won.
                        await self.store.sync_timers(tid, domain.desired_timers(before, catalog))
                    elif before is not None and known is not None:
                        self.kept.keep(before, known)  # a redelivery: nothing written, the kept view still holds
                    return
                fired: list[str] = []
                if before is not None:
                    state, outbox, fired = await self._overdue(before, min(env.occurred_at, self.clock.now()),
                                                               catalog)
                    if fired:
                        after = domain.apply(state, tid, env.id, msg, env.occurred_at, catalog)
                        assert after is not None
                        after.outbox = outbox
                if (flag := risk.flag_change(after)) is not None:  # met or resolved: no longer at risk
                    after.outbox = [*after.outbox, command_entry(env, flag)]
                plans = domain.next_timers(domain.desired_timers(after, catalog))
                if known is not None:  # the pending timers are these: write only the difference, read nothing
                    await self.store.sync_timers_many({tid: plans}, {tid: fired}, {tid: known})
                else:
                    await self.store.sync_timers(tid, plans, keep=fired)
                synced = True
                try:
                    await self.store.save(before, after)
                except StaleClock:
                    continue
                if after.outbox:
                    await self._flush(after)
                if fired:
                    await self.store.mark_fired_many(fired, self.clock.now())
                self.kept.keep(after, plans)
                return
        raise RuntimeError(f"clock of {env.ticket_id} kept changing under {env.type}")

    async def _before(self, ticket_id: str, msg: Message, *, first: bool,
                      ) -> tuple[SlaClock | None, list[TimerPlan] | None]:
        """The clock an event applies to and, when known without a read, the plans its pending timers match.

        Known: the clock this instance last wrote (see memory.py), or for an opening on a first attempt none at
        all (its timers are only added, and its insert is refused if the clock exists, which retries with a read).
        Otherwise the stored clock is read, and its timers with it (a crash may have come between a sync and its
        clock write)."""
        if first:
            if (kept := self.kept.take(ticket_id)) is not None:
                return kept
            if isinstance(msg, tickets.TicketOpened):
                return None, []
        return await self._load(ticket_id), None

    async def _overdue(self, clock: SlaClock, until: datetime, catalog: Catalog, skip: Sequence[str] = (),
                       ) -> tuple[SlaClock, list[dict[str, Any]], list[str]]:
        """Fire, in memory and in due order, the clock's pending timers due before ``until`` (an event's time).

        They fell due before the event happened, so they are decided on the state before it, as the timer loop
        would have had it kept up: the new state, the envelopes to send (ids from the timer ids, as in the loop)
        and the timer ids to mark fired. Plans come from the clock itself, not from the timer documents, so a
        timer a crash or Patience left out of the store still fires when it was due.
        """
        state, outbox, fired = clock, [], []
        partition = partition_for(clock.id, self.store.timers.partitions)
        for _ in range(OVERDUE_MAX):
            due = [p for p in domain.desired_timers(state, catalog)
                   if p.due_at < until and p.id not in fired and p.id not in skip]
            if not due:
                break
            plan = min(due, key=lambda p: p.due_at)
            fired.append(plan.id)
            firing = domain.fire(state, plan.kind, plan.data, plan.due_at, catalog)
            if firing is None:
                continue
            state = firing.clock
            timer = Timer(plan.id, clock.id, plan.due_at, plan.kind, plan.data, partition)
            envs = await timer_envelopes(self.directory, timer, firing)
            outbox += envs
            log.info("sla timer fired", extra={"timer": plan.id, "kind": plan.kind, "before_event": True,
                                               "sent": [e["envelope"]["type"] for e in envs]})
        return state, outbox, fired

    async def _load(self, ticket_id: str) -> SlaClock | None:
        """The clock, after publishing whatever a firing recorded but did not get to publish."""
        self.kept.drop([ticket_id])  # read afresh: whatever was kept no longer counts
        clock = await self.store.load(ticket_id)
        if clock is not None and clock.outbox:
            if clock.outbox_timers and not await self.store.unfired(clock.outbox_timers) - self._published:
                clock.outbox, clock.outbox_timers = [], []  # a timer pass's, published: its timers are marked
            else:
                await self._flush(clock)
                clock = await self.store.load(ticket_id)
        return clock

    async def _flush(self, clock: SlaClock) -> None:
        """Publish an event's outbox, then clear it; ``clock`` is then as stored (unless a later write won)."""
        await self._publish(clock.outbox)
        if await self.store.clear_outbox(clock):
            clock.outbox, clock.outbox_timers, clock.version = [], [], clock.version + 1

    async def flush_pending(self, partitions: set[int]) -> int:
        """Publish outboxes a crash left behind (their timers may already be marked fired)."""
        if not partitions:
            return 0
        ids = await self.store.with_outbox(partitions)
        for ticket_id in ids:
            async with self._lock(ticket_id):
                await self._load(ticket_id)
        return len(ids)

    async def _publish(self, outbox: list[dict[str, Any]]) -> None:
        await publish(self.bus, outbox)
