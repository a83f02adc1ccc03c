"""Timer passes: a tick's due timers → new clock states, ``sla.events`` and ledger commands (``TimerPasses``).

Crash safety. The new states, the envelopes to send (an outbox) and the ids of the timers that wrote them are saved in
one write, then the tickets' next timers are synced, then the envelopes are published, then the timers are marked
fired, which is what makes that outbox count as published (no second write). A crash anywhere repeats the publish
with the same ids (derived from the timer id), which the ledger and the readers of ``sla.events`` dedupe; nothing is
lost and order per ticket holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.runtime.clock import Clock
from shared.runtime.kafka import KafkaBus
from shared.runtime.metrics import SLA_TIMERS_PENDING
from shared.runtime.timer_loop import by_ticket
from shared.runtime.timers import NotYet, Patience, Timer, partition_for

from . import domain
from .memory import KeptClocks
from .model import Catalog, SlaClock, TimerPlan
from .outbox import publish, timer_envelopes
from .store import ClockStore, DirectoryCache

log = logging.getLogger(__name__)
OVERDUE_MAX = 32  # timers one event may fire first (each firing can make another due: a breach starts the ladder)


class TimerPasses:
    """The timer-loop half of the SLA handler (handlers.py has the event half and the shared state)."""

    store: ClockStore
    directory: DirectoryCache
    clock: Clock
    kept: KeptClocks
    patience: Patience
    _published: set[str]

    bus: KafkaBus

    def _lock(self, ticket_id: str) -> asyncio.Lock:
        raise NotImplementedError

    async def _load(self, ticket_id: str) -> SlaClock | None:
        raise NotImplementedError


    async def fire_many(self, timers: Sequence[Timer]) -> list[str]:
        """Fire a tick's due timers together; returns the ids to mark fired (not those still waiting for their
        clock, nor those Patience gave up on: see ``_drop``).

        One read of every ticket's clock; each ticket's due timers, and the steps their firing makes due at once
        (a breach starts the ladder), applied in due order in memory; one compare-and-set write of every new
        state with its outbox and the timers that wrote it; one sync of the timers (not read back when the
        loaded clock shows no crash); one publish per topic. The outbox is not cleared with a second write: once
        its timers are marked fired (by the loop, after this returns) it counts as published. A crash before
        the marking leaves them due, and the next pass (or the next event) publishes the outbox again, same ids.
        """
        self._published = set()  # the last pass's timers are marked by now (or, not marked, published again here)
        if not timers:
            return []
        catalog = await self.directory.catalog()
        now = self.clock.now()
        groups = {group[0].ticket_id: group for group in by_ticket(timers)}
        async with contextlib.AsyncExitStack() as stack:
            for ticket_id in sorted(groups):  # one order: no two holders of several locks wait on each other
                await stack.enter_async_context(self._lock(ticket_id))
            self.kept.drop(groups)  # a pass writes clocks, timers and outboxes of its own: the next event reads
            clocks = await self.store.load_many(list(groups))
            carried = await self._settle_outboxes(clocks)
            saves: list[tuple[SlaClock, SlaClock]] = []
            plans: dict[str, list[TimerPlan]] = {}
            known: dict[str, list[TimerPlan]] = {}
            done_of: dict[str, list[str]] = {}
            dropped: list[str] = []
            unsaved: list[dict[str, Any]] = []  # carried outboxes of clocks this pass does not write
            people: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
            for ticket_id, group in groups.items():
                before = clocks.get(ticket_id)
                current, handled, outbox, sure = await self._fire_ticket(group, before, now, catalog, people,
                                                                         dropped)
                if not handled:
                    continue
                done_of[ticket_id] = handled
                if before is None or current is None:
                    continue
                old_outbox, old_timers = carried.get(ticket_id, ([], []))
                if current is not before:
                    current.outbox, current.outbox_timers = old_outbox + outbox, old_timers + handled
                    saves.append((before, current))
                else:
                    unsaved += old_outbox
                plans[ticket_id] = domain.desired_timers(current, catalog)
                if sure and ticket_id not in carried:  # its timers match the clock as loaded: no need to read them
                    known[ticket_id] = domain.desired_timers(before, catalog)
            if not await self.store.save_many(saves):
                # Some clock moved on under us (a rebalance overlap): which saves landed is unknown, so those
                # tickets stop here. Next tick re-reads them: a landed save's outbox is published again (its
                # timers are not marked) and its timers come back as already done; a lost one fires afresh.
                for _, after in saves:
                    plans.pop(after.id, None)
                    done_of.pop(after.id, None)
                log.warning("sla batch lost a compare-and-set; retrying next tick",
                            extra={"tickets": [after.id for _, after in saves]})
                saves = []
            keep = {tid: [tm.id for tm in groups[tid]] for tid in plans}  # all of them: none deleted undecided
            await self.store.sync_timers_many(plans, keep, known)
            await publish(self.bus, unsaved + [entry for _, after in saves for entry in after.outbox])
            done = [tid for handled in done_of.values() for tid in handled]
            self._published = set(done)
            await self._drop(dropped)
            return done

    async def _settle_outboxes(self, clocks: dict[str, SlaClock]) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
        """Outboxes the loaded clocks still carry: an event's (a crash or a lost race left it) is published and
        cleared now (same ids); a timer pass's is unpublished only while one of its timers is not marked fired
        (one read for all), and then returned by ticket to go out first in this pass. Either way the clocks in
        ``clocks`` come back without an outbox."""
        for ticket_id, clock in list(clocks.items()):
            if clock.outbox and not clock.outbox_timers:
                reloaded = await self._load(ticket_id)
                if reloaded is None:
                    del clocks[ticket_id]
                else:
                    clocks[ticket_id] = reloaded
        written = {tid: c for tid, c in clocks.items() if c.outbox}
        unfired = await self.store.unfired([i for c in written.values() for i in c.outbox_timers])
        carried = {tid: (c.outbox, c.outbox_timers) for tid, c in written.items() if unfired & set(c.outbox_timers)}
        for c in written.values():
            c.outbox, c.outbox_timers = [], []
        return carried

    async def _fire_ticket(self, group: list[Timer], before: SlaClock | None, now: datetime, catalog: Catalog,
                           people: dict[tuple[Any, ...], list[tuple[str, str]]], dropped: list[str],
                           ) -> tuple[SlaClock | None, list[str], list[dict[str, Any]], bool]:
        """One ticket's due timers, in due order, and then the steps their firing makes due by ``now`` (a breach
        starts the ladder): fired here, they need no timer document, no second pass and no second write.

        Returns the new state, the due timers handled (to mark fired), the envelopes and whether every handled
        timer did something (a timer that does nothing hints that the pending timers differ from the clock).
        """
        current, sure = before, True
        handled: list[str] = []
        outbox: list[dict[str, Any]] = []
        partition = partition_for(group[0].ticket_id, self.store.timers.partitions)
        waiting = list(group)
        seen = {tm.id for tm in group}
        for _ in range(len(group) + OVERDUE_MAX):
            plan = None
            if handled and current is not None:
                due = [p for p in domain.desired_timers(current, catalog) if p.due_at <= now and p.id not in seen]
                plan = min(due, key=lambda p: p.due_at, default=None)
            if waiting and (plan is None or waiting[0].due_at <= plan.due_at):
                tm = waiting.pop(0)
                if current is None or _ahead(tm, current):
                    try:
                        self.patience.wait(tm.id)
                    except NotYet:
                        break  # this and the ticket's later timers wait for the next tick, in order
                    dropped.append(tm.id)  # not marked fired: see _drop
                    continue
                self.patience.caught_up(tm.id)
                handled.append(tm.id)
            elif plan is not None:
                seen.add(plan.id)
                tm = Timer(plan.id, group[0].ticket_id, plan.due_at, plan.kind, plan.data, partition)
            else:
                break
            assert current is not None  # a timer fires only on a clock (see above), a plan only comes from one
            firing = domain.fire(current, tm.kind, tm.data, tm.due_at, catalog)
            if firing is None:  # already done (maybe by a run that crashed before syncing timers)
                sure = False
                continue
            current = firing.clock
            envs = await timer_envelopes(self.directory, tm, firing, people)
            outbox += envs
            log.info("sla timer fired", extra={"timer": tm.id, "kind": tm.kind,
                                               "sent": [e["envelope"]["type"] for e in envs]})
        return current, handled, outbox, sure

    async def _drop(self, timer_ids: Sequence[str]) -> None:
        """Delete timers whose state never caught up within Patience, instead of marking them fired.

        Marking one fired would use its id up: when its event finally arrives (replayed from a backlog after a
        crash, a restart or a rebalance, later than Patience waits), the sync that recreates the timer cannot
        revive a fired id and the step would be skipped for good. Deleted, it comes back with that sync and
        fires then (or, once overdue, before the next event: see ``_overdue``); if its event never comes, it
        stays gone, as before.
        """
        if timer_ids:
            log.warning("sla timers dropped until their event is replayed: their clock never caught up",
                        extra={"timers": list(timer_ids)})
            await self.store.drop_unfired(timer_ids)

    async def refresh_gauge(self) -> None:
        SLA_TIMERS_PENDING.labels("sla").set(await self.store.timers.pending())


def _ahead(timer: Timer, clock: SlaClock) -> bool:
    """The timer belongs to a newer epoch than the saved clock: its event is still being recorded."""
    if timer.kind in (domain.WARN, domain.BREACH):
        tc = clock.targets.get(str(timer.data.get("target")))
        epoch = timer.data.get("epoch")
        return tc is None or (isinstance(epoch, int) and epoch > tc.epoch)
    if timer.kind == domain.LADDER and timer.data.get("epoch", 0):
        epoch = timer.data.get("epoch")
        return isinstance(epoch, int) and epoch > clock.assign_epoch
    return False
