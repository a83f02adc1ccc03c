"""A consumed batch of ``tickets.events`` applied together: one read, one timer sync, one clock write for all tickets.

Each ticket's events apply in order, in memory, to its kept clock (memory.py), to none for an opening, or to the
clock read for the batch (one ``_id $in`` query). Then, as for one event (handlers.py), the timers are synced
before the clocks are saved, and the outboxes published after: one timer sync, then one version-guarded bulk write
of every new clock, then the publishes. The stream acks the batch only after this returns, so its offsets are
committed after the write; a crash before the commit redelivers the batch, whose events the clocks already list as
applied (``SlaClock.applied``): nothing is applied twice, an unpublished outbox goes out with the same ids.

A ticket that needs more than this path knows (a read clock still carrying an outbox) is left to the one-event path,
as is the whole batch when a write is refused or its outcome unknown (a lost compare-and-set, an insert of a clock
that exists): the event path reads afresh and the applied ids make the events that did land no-ops.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.runtime.logging import correlation_id_var, ticket_id_var

from . import domain, risk
from .handlers import SlaHandler
from .model import Catalog, SlaClock, TimerPlan
from .outbox import command_entry

log = logging.getLogger(__name__)
Delivery = tuple[Envelope, Message]


class Applied:
    """One ticket's batch: the clock before it, the plans its pending timers are known to match, the clock after."""

    def __init__(self, before: SlaClock | None, known: list[TimerPlan] | None) -> None:
        self.before, self.known = before, known
        self.after: SlaClock | None = before
        self.fired: list[str] = []


async def handle_many(handler: SlaHandler, deliveries: Sequence[Delivery]) -> None:
    moving = [(env, msg) for env, msg in deliveries if domain.moves_clock(msg)]
    if len(moving) <= 1:
        for env, msg in moving:
            await handler.handle(env, msg)
        return
    by_ticket: dict[str, list[Delivery]] = {}
    for env, msg in moving:
        by_ticket.setdefault(env.ticket_id, []).append((env, msg))
    catalog = await handler.directory.catalog()
    slow: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        for ticket_id in sorted(by_ticket):  # one order: no two holders of several locks wait on each other
            await stack.enter_async_context(handler._lock(ticket_id))
        states = await _before(handler, by_ticket, slow)
        for ticket_id, state in states.items():
            await _apply(handler, state, by_ticket[ticket_id], catalog)
        if not await _write(handler, states, catalog):
            slow = list(by_ticket)
    for ticket_id in slow:  # outside the batch's locks: ``handle`` takes each ticket's own
        for env, msg in by_ticket[ticket_id]:
            await handler.handle(env, msg)


async def _before(handler: SlaHandler, by_ticket: dict[str, list[Delivery]], slow: list[str]) -> dict[str, Applied]:
    """Each ticket's starting point without a read where one is known; the rest read in one query."""
    states: dict[str, Applied] = {}
    unknown: list[str] = []
    for ticket_id, events in by_ticket.items():
        if (kept := handler.kept.take(ticket_id)) is not None:
            states[ticket_id] = Applied(*kept)
        elif isinstance(events[0][1], tickets.TicketOpened):
            states[ticket_id] = Applied(None, [])  # its insert is refused if it exists: the batch then goes slow
        else:
            unknown.append(ticket_id)
    loaded = await handler.store.load_many(unknown)
    for ticket_id in unknown:
        clock = loaded.get(ticket_id)
        if clock is not None and (clock.outbox or clock.outbox_timers):
            slow.append(ticket_id)  # ``handle`` publishes (or settles) that outbox first
        else:
            states[ticket_id] = Applied(clock, None)
    return states


async def _apply(handler: SlaHandler, state: Applied, events: list[Delivery], catalog: Catalog) -> None:
    """The ticket's events in order, each after the steps that fell due before it (``SlaHandler._overdue``)."""
    now = handler.clock.now()
    for env, msg in events:
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)
        current = state.after
        after = domain.apply(current, env.ticket_id, env.id, msg, env.occurred_at, catalog)
        if after is None or after is current:
            continue
        if current is not None:
            fired_state, outbox, fired = await handler._overdue(current, min(env.occurred_at, now), catalog,
                                                                skip=state.fired)
            if fired:
                after = domain.apply(fired_state, env.ticket_id, env.id, msg, env.occurred_at, catalog)
                assert after is not None
                after.outbox = [*current.outbox, *outbox]
                state.fired += fired
        if (flag := risk.flag_change(after)) is not None:
            after.outbox = [*after.outbox, command_entry(env, flag)]
        state.after = after


async def _write(handler: SlaHandler, states: dict[str, Applied], catalog: Catalog) -> bool:
    """Timers, then every changed clock in one guarded write, then outboxes; False: go the one-event way."""
    changed = {tid: s for tid, s in states.items() if s.after is not None and s.after is not s.before}
    for tid, s in states.items():
        if tid not in changed and s.before is not None and s.known is not None:
            handler.kept.keep(s.before, s.known)  # redelivered: nothing written, the kept view still holds
    if not changed:
        return True
    plans = {tid: domain.next_timers(domain.desired_timers(s.after, catalog))
             for tid, s in changed.items() if s.after is not None}
    known = {tid: s.known for tid, s in changed.items() if s.known is not None}
    await handler.store.sync_timers_many(plans, {tid: s.fired for tid, s in changed.items()}, known)
    pairs = [(s.before, s.after) for s in changed.values() if s.after is not None]
    if not await handler.store.save_batch(pairs):
        log.warning("sla event batch lost a write; handling its events one by one",
                    extra={"tickets": sorted(changed)})
        await _resync(handler, list(changed), catalog)
        return False
    for s in changed.values():
        if s.after is not None and s.after.outbox:
            await handler._flush(s.after)
    fired = [i for s in changed.values() for i in s.fired]
    if fired:
        await handler.store.mark_fired_many(fired, handler.clock.now())
    for tid, s in changed.items():
        if s.after is not None:
            handler.kept.keep(s.after, plans[tid])
    return True


async def _resync(handler: SlaHandler, ticket_ids: list[str], catalog: Catalog) -> None:
    """After a refused batch write, make each ticket's timers match its stored clock again: the sync before the
    write followed this batch's view, which may have lost to another writer that had applied the same events."""
    handler.kept.drop(ticket_ids)
    for tid in ticket_ids:
        clock = await handler._load(tid)
        if clock is not None:
            await handler.store.sync_timers(tid, domain.desired_timers(clock, catalog))
