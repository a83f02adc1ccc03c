"""``tickets.events`` → clock records + timers; due timers → ``sla.events`` + ledger commands.

Crash safety. Events: timers are synced before the clock is saved, so a redelivered event
recomputes the same deterministic timers; an event's outbox is published, then cleared. Firings:
the new state, the envelopes to send (an outbox) and the ids of the timers that wrote it are saved
in one write, then the ticket's next timer is synced, then the envelopes are published, then the
timers are marked fired, which is what makes that outbox count as published (no second write).
A crash anywhere repeats the publish with the same ids (derived from the timer id), which the
ledger and the readers of ``sla.events`` dedupe; nothing is lost and order per ticket holds.

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
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets
from shared.contracts.topics import SLA_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id
from shared.runtime.kafka import KafkaBus
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.metrics import SLA_TIMERS_PENDING
from shared.runtime.timer_loop import by_ticket
from shared.runtime.timers import NotYet, Patience, Timer, partition_for

from . import domain, risk
from .memory import KeptClocks
from .model import Catalog, SlaClock, TimerPlan
from .store import ClockStore, DirectoryCache, StaleClock

log = logging.getLogger(__name__)
ACTOR = "sla"
CAS_ATTEMPTS = 20
OVERDUE_MAX = 32  # timers one event may fire first (each firing can make another due: a breach starts the ladder)


class SlaHandler:
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
            envs = await self._envelopes(Timer(plan.id, clock.id, plan.due_at, plan.kind, plan.data, partition),
                                         firing)
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

    # ---- timers ---------------------------------------------------------------------------------

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
            await self._publish(unsaved + [entry for _, after in saves for entry in after.outbox])
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
            envs = await self._envelopes(tm, firing, people)
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

    async def _publish(self, outbox: list[dict[str, Any]]) -> None:
        envs = [(entry["topic"], Envelope.model_validate(entry["envelope"])) for entry in outbox]
        sla = [e for topic, e in envs if topic == SLA_EVENTS.name]
        cmds = [e for topic, e in envs if topic == TICKETS_COMMANDS.name]
        if sla:
            await self.bus.publish_many(SLA_EVENTS, sla)
        if cmds:
            await self.bus.publish_many(TICKETS_COMMANDS, cmds)

    async def _envelopes(self, timer: Timer, firing: domain.Firing,
                         people_memo: dict[tuple[Any, ...], list[tuple[str, str]]] | None = None,
                         ) -> list[dict[str, Any]]:
        """Ids derive from the timer id and times are the due time: a re-fire repeats them byte for byte."""
        events, commands = list(firing.events), list(firing.commands)
        if firing.escalation is not None:
            step = firing.escalation
            people = [(u, "participant") for u in step.user_ids]
            key = (tuple(step.roles), firing.clock.group_id, firing.clock.assignee_id)
            found = people_memo.get(key) if people_memo is not None else None
            if found is None:
                found = await self.directory.people(step.roles, firing.clock.group_id, firing.clock.assignee_id)
                if people_memo is not None:
                    people_memo[key] = found
            people += found
            event, extra = domain.escalation_messages(step, firing.ladder_id, people)
            events.append(event)
            commands = extra + commands
        at = timer.due_at
        out = [{"topic": SLA_EVENTS.name, "envelope": envelope_for(
            m, timer.ticket_id, occurred_at=at, actor=ACTOR, correlation_id=timer.id,
            id=derived_id(timer.id, "event", i)).model_dump(mode="json")} for i, m in enumerate(events)]
        out += [{"topic": TICKETS_COMMANDS.name, "envelope": envelope_for(
            m, timer.ticket_id, occurred_at=at, actor=ACTOR, correlation_id=timer.id,
            id=derived_id(timer.id, "command", i)).model_dump(mode="json")} for i, m in enumerate(commands)]
        return out

    async def refresh_gauge(self) -> None:
        SLA_TIMERS_PENDING.labels("sla").set(await self.store.timers.pending())


def command_entry(env: Envelope, command: Message) -> dict[str, Any]:
    """An outbox entry for a command an event caused; its id derives from the event's, so a retry repeats it."""
    out = envelope_for(command, env.ticket_id, occurred_at=env.occurred_at, actor=ACTOR,
                       correlation_id=env.correlation_id or env.id, id=derived_id(env.id, "sla", command.TYPE))
    return {"topic": TICKETS_COMMANDS.name, "envelope": out.model_dump(mode="json")}


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

