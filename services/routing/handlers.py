"""``tickets.events`` (and due timers) → routing decisions → ``tickets.commands`` / ``routing.events``.

Idempotent: every command and event routing emits has an id derived from its cause
(the event or the timer) and its position, so a redelivered event or a re-fired timer
publishes the same ids again and the ledger (and readers of ``routing.events``) dedupe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Protocol

from prometheus_client import Counter

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for
from shared.contracts.schemas import routing, tickets
from shared.contracts.schemas.common import FINISHED_STATUSES
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS
from shared.directory.classification import Topic, UrgencyRule
from shared.directory.routing import Staff
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.ports import Bus, Timers
from shared.runtime.timers import Patience, Timer

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
from .projection import TRACKED, TicketView, apply

log = logging.getLogger(__name__)

AUTO = "auto_assign"
RETRY = "retry"
ACTOR = "routing"

DECISIONS = Counter("frontline_routing_decisions_total", "Routing actions taken", ["action"])


def auto_timer_id(ticket_id: str, offer_round: int) -> str:
    return derived_id("routing-auto-assign", ticket_id, offer_round)


class Projection(Protocol):
    """Routing's view of each ticket (``store.ProjectionStore``): read with its version, saved compare-and-set."""

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]: ...

    async def save(self, view: TicketView, version: int) -> None: ...

    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]: ...


class StaffSource(Protocol):
    """The routing directories and intake's triage rules as last read (``store.StaffReader``)."""

    async def snapshot(self) -> Staff: ...

    async def triage(self) -> tuple[list[Topic], list[UrgencyRule]]: ...


class RoutingHandler:
    def __init__(self, projection: Projection, staff: StaffSource, timers: Timers, bus: Bus,
                 clock: Clock, policy: Policy, retry_after: timedelta) -> None:
        self.projection, self.staff, self.timers, self.bus = projection, staff, timers, bus
        self.clock, self.policy, self.retry_after = clock, policy, retry_after
        self.patience = Patience()

    # ---- tickets.events ----------------------------------------------------------------------

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, msg = delivery
        if not isinstance(msg, TRACKED):
            return
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)
        view, version = await self.projection.get(env.ticket_id)
        before = view
        fresh = view is None or env.id not in view.applied
        if fresh:
            # A redelivered event is not applied twice; we decide on the (possibly newer) view.
            view = apply(view, env, msg)
            if view is None:
                return
        assert view is not None
        # Effects first, then the view: a crash in between redelivers the event, which re-applies it and
        # re-publishes the same ids; the offer does not wait for the projection write.
        await self._react(env, msg, view, before if fresh else None)
        if fresh:
            await self.projection.save(view, version)

    async def _react(self, env: Envelope, msg: Message, view: TicketView, before: TicketView | None) -> None:
        now = self.clock.now()
        actions: list[Action] = []
        if isinstance(msg, tickets.TicketAssigned | tickets.TicketEscalated) or view.status in FINISHED_STATUSES:
            await self.timers.cancel_for_ticket(env.ticket_id, [AUTO, RETRY])
        if isinstance(msg, tickets.TicketOpened):
            reason = "sub_ticket" if view.parent_id else "new"
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason=reason,
                            loads=await self._loads())
        elif isinstance(msg, tickets.TicketEscalated):
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason="escalated",
                            exclude=[a for a in (msg.previous_agent_id, msg.handed_by) if a],
                            loads=await self._loads())
        elif isinstance(msg, tickets.TicketReopened):
            actions = route(view, await self.staff.snapshot(), await self._policy(), now, reason="reopened",
                            loads=await self._loads())
        elif isinstance(msg, tickets.TicketClassified | tickets.CustomFieldsSet) and before is not None:
            # ``before`` is None for a redelivery the saved view already has: its effect was published then
            actions = reclassified(before, view, await self.staff.snapshot(), await self._policy(), now,
                                   loads=await self._loads())
            if actions:  # the standing offer is moot: its timer must not auto-assign on the old line meanwhile
                await self.timers.cancel_for_ticket(env.ticket_id, [AUTO, RETRY])
        elif isinstance(msg, tickets.TicketAssigned):
            actions = settle_flags(view)
        elif isinstance(msg, tickets.MessageReceived):
            actions = lost(view, await self.staff.snapshot(), await self._policy(), now)
        elif isinstance(msg, tickets.TicketOffered):
            await self.timers.cancel_for_ticket(env.ticket_id, [AUTO, RETRY])
            if view.status == "offered" and view.offer_round == msg.round:
                due = env.occurred_at + self.policy.timeout_for(view.urgency)
                await self.timers.schedule(auto_timer_id(env.ticket_id, msg.round), env.ticket_id, due, AUTO,
                                           {"round": msg.round})
        await self._execute(env.ticket_id, actions, env.id, env)

    # ---- timers ------------------------------------------------------------------------------------

    async def fire(self, timer: Timer) -> None:
        ticket_id_var.set(timer.ticket_id)
        view, _ = await self.projection.get(timer.ticket_id)
        offer_round = int(timer.data.get("round", 0))
        if timer.kind == AUTO and (view is None or view.offer_round < offer_round):
            # the offer is not in the view yet (the view is written after the timer: mid-flight, or a kill
            # in between and the replay still to come): wait for it rather than decide on the older round
            self.patience.wait(timer.id)
            # out of patience: drop the timer (the loop's mark_fired then finds nothing), so the offer's
            # event, when it is replayed, schedules it again instead of finding it used up
            await self.timers.cancel(timer.id)
            log.warning("auto-assign timer dropped until its offer is replayed", extra={"timer": timer.id})
            return
        else:
            self.patience.caught_up(timer.id)
        if view is None:
            return
        now = self.clock.now()
        staff = await self.staff.snapshot()
        actions: list[Action] = []
        policy = await self._policy()
        if timer.kind == AUTO:
            actions = auto_assign(view, staff, policy, now, offer_round=offer_round, loads=await self._loads())
        elif timer.kind == RETRY:
            actions = route(view, staff, policy, now, reason="retry", quiet=True, loads=await self._loads())
        await self._execute(timer.ticket_id, actions, timer.id, None)

    # ---- effects -----------------------------------------------------------------------------------

    async def _policy(self) -> Policy:
        """The configured policy with intake's tree and urgency rules as they are now."""
        return self.policy.with_triage(*await self.staff.triage())

    async def _loads(self) -> dict[str, int] | None:
        if self.policy.strategy == "random":
            return None
        staff = await self.staff.snapshot()
        return await self.projection.loads(staff.agents)

    async def _execute(self, ticket_id: str, actions: Sequence[Action], cause_id: str,
                       cause: Envelope | None) -> None:
        now = self.clock.now()
        commands: list[Envelope] = []
        events: list[Envelope] = []

        def wrap(m: Message, i: int) -> Envelope:
            return envelope_for(m, ticket_id, occurred_at=now, cause=cause, actor=ACTOR,
                                id=caused_id(cause_id, "routing", i))

        for i, a in enumerate(actions):
            DECISIONS.labels(type(a).__name__.lower()).inc()
            match a:
                case Offer():
                    commands.append(wrap(tickets.OfferTicket(agent_ids=list(a.agent_ids), line=a.line,
                                                             group_id=a.group_id, service_team_id=a.service_team_id,
                                                             reason=a.reason), i))
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
                    await self.timers.schedule(caused_id(cause_id, "routing-retry"), ticket_id,
                                               now + self.retry_after, RETRY, {"reason": a.reason})
        if commands:
            await self.bus.publish_many(TICKETS_COMMANDS, commands)
        if events:
            await self.bus.publish_many(ROUTING_EVENTS, events)
        if actions:
            log.info("routed", extra={"actions": [type(a).__name__ for a in actions]})
