"""``tickets.events`` (and due timers) → routing decisions → ``tickets.commands`` / ``routing.events``.

Idempotent: every command and event routing emits has an id derived from its cause
(the event or the timer) and its position, so a redelivered event or a re-fired timer
publishes the same ids again and the ledger (and readers of ``routing.events``) dedupe.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for
from shared.contracts.schemas import routing, tickets
from shared.contracts.schemas.common import FINISHED_STATUSES
from shared.directory.classification import Topic, UrgencyRule
from shared.directory.routing import Staff
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.ports import Bus
from shared.runtime.timers import Patience, Timer, partition_for

from .domain import (
    Action,
    Alert,
    Assign,
    Flag,
    Nobody,
    Offer,
    Policy,
    Retry,
    auto_assign,
    lost,
    reclassified,
    route,
    settle_flags,
)
from .effects import BatchTimers, Effects, Loads
from .projection import TRACKED, UNCHANGING, TicketView, apply, needs_write
from .store import ConcurrentUpdate

log = logging.getLogger(__name__)

AUTO = "auto_assign"
RETRY = "retry"
KINDS = (AUTO, RETRY)
ACTOR = "routing"

DECISIONS = Counter("frontline_routing_decisions_total", "Routing actions taken", ["action"])


def auto_timer_id(ticket_id: str, offer_round: int) -> str:
    return derived_id("routing-auto-assign", ticket_id, offer_round)


class Projection(Protocol):
    """Routing's view of each ticket (``store.ProjectionStore``): read with its version, saved compare-and-set."""

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]: ...

    async def get_many(self, ticket_ids: Iterable[str], opening: Collection[str] = (),
                       ) -> dict[str, tuple[TicketView | None, int]]: ...

    async def save_many(self, saves: Sequence[tuple[TicketView, int]]) -> None: ...

    def remember(self, view: TicketView, version: int) -> None: ...

    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]: ...


class StaffSource(Protocol):
    """The routing directories and intake's triage rules as last read (``directories.StaffReader``)."""

    async def snapshot(self) -> Staff: ...

    async def triage(self) -> tuple[list[Topic], list[UrgencyRule]]: ...


Delivery = tuple[Envelope, Message]


class RoutingHandler:
    def __init__(self, projection: Projection, staff: StaffSource, timers: BatchTimers, bus: Bus,
                 clock: Clock, policy: Policy, retry_after: timedelta) -> None:
        self.projection, self.staff, self.timers, self.bus = projection, staff, timers, bus
        self.clock, self.policy, self.retry_after = clock, policy, retry_after
        self.patience = Patience()

    # ---- tickets.events ----------------------------------------------------------------------

    async def __call__(self, delivery: Delivery) -> None:
        await self.handle_batch([delivery])

    async def handle_batch(self, deliveries: list[Delivery], *, read_all: bool = False) -> None:
        """A partition's records in order: their views read in one go, each record decided on the view the ones
        before it left (as one by one), then the effects written together and the changed views saved at once.

        A ticket whose first record here is its opening is taken to have no view yet, unread: almost always so.
        When it had one (a redelivery), its insert is refused, and the batch is decided again on the stored
        views; what the first pass published carries the ids the event's first handling published, so the ledger
        and readers drop it."""
        tracked = [(env, msg) for env, msg in deliveries if isinstance(msg, TRACKED)]
        if not tracked:
            return
        first: dict[str, Message] = {}
        for env, msg in tracked:
            first.setdefault(env.ticket_id, msg)
        opening = [] if read_all else [i for i, msg in first.items() if isinstance(msg, tickets.TicketOpened)]
        stored = await self.projection.get_many(first, opening)
        before_batch = {ticket_id: view for ticket_id, (view, _) in stored.items()}
        settled = dict(before_batch)  # each ticket's view after the records decided so far
        effects = Effects(KINDS)
        loads = Loads(self.projection, before_batch, settled)
        for env, msg in tracked:
            ticket_id_var.set(env.ticket_id)
            correlation_id_var.set(env.correlation_id or env.id)
            view = before = settled[env.ticket_id]
            fresh = view is None or env.id not in view.applied
            if fresh:
                # A redelivered event is not applied twice; we decide on the (possibly newer) view.
                view = apply(view, env, msg)
                if view is None:
                    continue
            assert view is not None
            pre = before_batch[env.ticket_id]
            timers_stored = pre is not None and pre.timers
            await self._react(env, msg, view, before if fresh else None, effects, loads, timers_stored=timers_stored)
            changed = fresh and not isinstance(msg, UNCHANGING)
            pending = effects.pending(env.ticket_id, timers_stored)
            if pending != view.timers:
                view, changed = view.model_copy(update={"timers": pending}), True
            if changed:
                settled[env.ticket_id] = view  # after the decision: one by one, its loads did not count it yet
        # Effects first, then the views: a crash in between redelivers the records, which are applied again and
        # re-publish the same ids; the offers do not wait for the projection write.
        await effects.write(self.timers, self.bus)
        saves: list[tuple[TicketView, int]] = []
        unwritten: list[tuple[TicketView, int]] = []
        for ticket_id, view in settled.items():
            pre = before_batch[ticket_id]
            if view is not None and view is not pre:
                (saves if needs_write(pre, view) else unwritten).append((view, stored[ticket_id][1]))
        try:
            if saves:
                await self.projection.save_many(saves)
        except ConcurrentUpdate:
            if read_all:
                raise
            log.info("a view was there already: deciding the batch again on the stored views")
            await self.handle_batch(deliveries, read_all=True)
            return
        for view, version in unwritten:  # only once the saves landed: a refused batch is decided again from before
            self.projection.remember(view, version)

    async def _react(self, env: Envelope, msg: Message, view: TicketView, before: TicketView | None,
                     effects: Effects, loads: Loads, *, timers_stored: bool) -> None:
        now = self.clock.now()
        actions: list[Action] = []
        if isinstance(msg, tickets.TicketAssigned | tickets.TicketEscalated) or view.status in FINISHED_STATUSES:
            effects.cancel(env.ticket_id, timers_stored)
        if isinstance(msg, tickets.TicketOpened):
            reason = "sub_ticket" if view.parent_id else "new"
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason=reason,
                            loads=await self._loads(loads))
        elif isinstance(msg, tickets.TicketEscalated):
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason="escalated",
                            exclude=[a for a in (msg.previous_agent_id, msg.handed_by) if a],
                            loads=await self._loads(loads))
        elif isinstance(msg, tickets.TicketReopened):
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason="reopened",
                            loads=await self._loads(loads))
        elif isinstance(msg, tickets.TicketClassified | tickets.CustomFieldsSet) and before is not None:
            # ``before`` is None for a redelivery the saved view already has: its effect was published then
            actions = reclassified(before, view, await self.staff.snapshot(), await self._policy(), now,
                                   loads=await self._loads(loads))
            if actions:  # the standing offer is moot: its timer must not auto-assign on the old line meanwhile
                effects.cancel(env.ticket_id, timers_stored)
        elif isinstance(msg, tickets.TicketAssigned):
            actions = settle_flags(view)
        elif isinstance(msg, tickets.MessageReceived):
            actions = lost(view, await self.staff.snapshot(), await self._policy(), now)
        elif isinstance(msg, tickets.TicketOffered):
            effects.cancel(env.ticket_id, timers_stored)
            if view.status == "offered" and view.offer_round == msg.round:
                due = env.occurred_at + self.policy.timeout_for(view.urgency)
                effects.schedule(self._timer(auto_timer_id(env.ticket_id, msg.round), env.ticket_id, due, AUTO,
                                             {"round": msg.round}))
        self._decided(view, actions, env.id, env, effects)

    # ---- timers ------------------------------------------------------------------------------------

    async def fire(self, timer: Timer) -> None:
        ticket_id_var.set(timer.ticket_id)
        view, _ = await self.projection.get(timer.ticket_id)
        offer_round = int(timer.data.get("round", 0))
        if "round" in timer.data and (view is None or view.offer_round < offer_round):
            # the view is behind the timer (written after it: mid-flight, or a kill in between and the replay
            # still to come): wait for it rather than decide on the older round
            self.patience.wait(timer.id)
            # out of patience: drop the timer (the loop's mark_fired then finds nothing), so the offer's
            # event, when it is replayed, schedules it again instead of finding it used up
            await self.timers.cancel(timer.id)
            log.warning("timer dropped until its cause is replayed", extra={"timer": timer.id})
            return
        else:
            self.patience.caught_up(timer.id)
        if view is None:
            return
        if timer.kind == RETRY and "round" in timer.data and view.offer_round > offer_round:
            return  # offered since it was set, and that offer's timer carries on: a retry its cancel missed
        now = self.clock.now()
        staff = await self.staff.snapshot()
        actions: list[Action] = []
        policy = await self._policy()
        loads = Loads(self.projection, {}, {})
        if timer.kind == AUTO:
            actions = auto_assign(view, staff, policy, now, offer_round=offer_round, loads=await self._loads(loads))
        elif timer.kind == RETRY:
            actions = route(view, staff, policy, now, reason="retry", quiet=True, loads=await self._loads(loads))
        effects = Effects(KINDS)
        self._decided(view, actions, timer.id, None, effects)
        if effects.timers:
            await self._mark_timers(timer.ticket_id)
        await effects.write(self.timers, self.bus)

    async def _mark_timers(self, ticket_id: str) -> None:
        """Before a timer fires another (a retry): its view is marked as the consumer marks it, on the view as it
        is now (the consumer may have cleared the mark meanwhile). Refused: the timer stays due and fires again."""
        current, version = await self.projection.get(ticket_id)
        if current is not None and not current.timers:
            await self.projection.save_many([(current.model_copy(update={"timers": True}), version)])

    # ---- effects -----------------------------------------------------------------------------------

    async def _policy(self) -> Policy:
        """The configured policy with intake's tree and urgency rules as they are now."""
        return self.policy.with_triage(*await self.staff.triage())

    async def _loads(self, loads: Loads) -> dict[str, int] | None:
        if self.policy.strategy == "random":
            return None
        staff = await self.staff.snapshot()
        return await loads.of(staff.agents)

    def _timer(self, timer_id: str, ticket_id: str, due_at: datetime, kind: str, data: dict[str, Any]) -> Timer:
        return Timer(timer_id, ticket_id, due_at, kind, data, partition_for(ticket_id, self.timers.partitions))

    def _decided(self, view: TicketView, actions: Sequence[Action], cause_id: str, cause: Envelope | None,
                 effects: Effects) -> None:
        """The actions as commands, events and a retry timer, with ids derived from their cause and position."""
        now, ticket_id = self.clock.now(), view.id
        commands, events = effects.commands, effects.events

        def wrap(m: Message, i: int) -> Envelope:
            return envelope_for(m, ticket_id, occurred_at=now, cause=cause, actor=ACTOR,
                                id=caused_id(cause_id, "routing", i))

        for i, a in enumerate(actions):
            DECISIONS.labels(type(a).__name__.lower()).inc()
            match a:
                case Offer():
                    commands.append(wrap(tickets.OfferTicket(agent_ids=list(a.agent_ids), line=a.line,
                                                             group_id=a.group_id, service_team_id=a.service_team_id,
                                                             reason=a.reason, handovers_seen=view.handovers), i))
                case Assign():
                    commands.append(wrap(tickets.AssignTicket(agent_id=a.agent_id, mode=a.mode, reason=a.reason), i))
                case Flag():
                    commands.append(wrap(tickets.SetFlag(flag=a.flag, value=a.value, reason=a.reason), i))
                case Alert():
                    events.append(wrap(routing.LeadAlerted(lead_ids=list(a.lead_ids), reason=a.reason,
                                                           assignee_id=a.assignee_id, detail=a.detail,
                                                           service_team_id=a.service_team_id), i))
                case Nobody():
                    events.append(wrap(routing.NobodyAvailable(line=a.line, group_id=a.group_id, fallback=a.fallback,
                                                               agent_id=a.agent_id), i))
                case Retry():
                    effects.schedule(self._timer(caused_id(cause_id, "routing-retry"), ticket_id,
                                                 now + self.retry_after, RETRY,
                                                 {"reason": a.reason, "round": view.offer_round}))
        if actions:
            log.info("routed", extra={"actions": [type(a).__name__ for a in actions]})
