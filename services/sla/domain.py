"""Clock rules: how ticket events move a ticket's SLA clocks, which timers that implies, what a due timer does.

All pure. ``apply`` turns (clock, event) into the new clock; ``desired_timers`` derives
the complete set of pending timers from a clock; the adapter keeps the earliest of them
(``next_timers``) in the timer store (stale timers go, new ones come, fired ones never revive). Timer ids
are deterministic in (ticket, kind, target/step, epoch), so a re-fire after a crash
produces the same ids and dedupes downstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.envelope import Message
from shared.contracts.schemas import sla, tickets
from shared.contracts.schemas.common import ACTIVE_STATUSES
from shared.contracts.ticket_rules import status_after
from shared.directory.sla import LadderStep
from shared.runtime.ids import derived_id

from . import risk
from .calendar import Calendar
from .model import APPLIED_KEEP, Catalog, SlaClock, TargetClock, TimerPlan
from .policy import Facts, choose_policy, effective_targets

WARN, BREACH, LADDER, DEADLINE = "sla.warn", "sla.breach", "sla.ladder", "sla.deadline"
PAUSABLE = ("first_response", "resolution")


def facts_of(clock: SlaClock) -> Facts:
    return Facts(client_id=clock.client_id, contract_id=clock.contract_id, category=clock.category,
                 service_id=clock.service_id, priority=clock.priority, ticket_type=clock.ticket_type,
                 custom_fields=clock.custom_fields)


# ---- targets ------------------------------------------------------------------------------------


def _schedule(tc: TargetClock, cal: Calendar, share: float | None) -> None:
    """Recompute due/warn times of a running target from what it has used so far."""
    assert tc.running_since is not None
    left = max(tc.target_seconds - tc.used_before, 0.0)
    tc.due_at = cal.add(tc.running_since, left)
    tc.warn_at = cal.add(tc.running_since, max(tc.target_seconds * share - tc.used_before, 0.0)) if share else None


def start_target(seconds: float, at: datetime, cal: Calendar, share: float | None, epoch: int = 0) -> TargetClock:
    tc = TargetClock(target_seconds=seconds, started_at=at, running_since=at, epoch=epoch)
    _schedule(tc, cal, share)
    return tc


def pause_target(tc: TargetClock, at: datetime, cal: Calendar) -> None:
    if not tc.running:
        return
    assert tc.running_since is not None
    tc.used_before += cal.between(tc.running_since, at).total_seconds()
    tc.business_seconds_used = tc.used_before
    tc.running_since = None
    tc.epoch += 1


def resume_target(tc: TargetClock, at: datetime, cal: Calendar, share: float | None) -> None:
    if tc.met_at is not None or tc.running_since is not None:
        return
    tc.running_since = at
    tc.epoch += 1
    _schedule(tc, cal, share)


def meet_target(tc: TargetClock, at: datetime, cal: Calendar) -> None:
    if tc.met_at is not None:
        return
    if tc.running_since is not None:
        tc.used_before += cal.between(tc.running_since, at).total_seconds()
    tc.business_seconds_used = tc.used_before
    tc.running_since = None
    tc.met_at = at
    tc.met = tc.used_before <= tc.target_seconds and not tc.breached


def stop_target(tc: TargetClock, at: datetime, cal: Calendar) -> None:
    """Closed without meeting it (completed/closed with the clock still open): stop counting."""
    if tc.running:
        pause_target(tc, at, cal)


# ---- events -------------------------------------------------------------------------------------


def open_clock(ticket_id: str, ev: tickets.TicketOpened, at: datetime, catalog: Catalog) -> SlaClock:
    client, cls = ev.client, ev.classification
    clock = SlaClock(
        id=ticket_id, policy_id="", calendar_id="", opened_at=at,
        client_id=client.client_id if client else None, contract_id=client.contract_id if client else None,
        category=client.category if client else None,
        service_id=(cls.sub_service_id or cls.service_id) if cls else None, product=cls.product if cls else None,
        ticket_type=ev.ticket_type.value, priority=ev.priority, group_id=ev.group_id,
        deadline=ev.deadline, deadline_set_at=at if ev.deadline else None)
    _retarget(clock, at, catalog, opening=True)
    return clock


def _retarget(clock: SlaClock, at: datetime, catalog: Catalog, opening: bool = False) -> None:
    """(Re)choose the policy from the ticket's facts; targets keep their start and used time."""
    facts = facts_of(clock)
    policy = choose_policy(catalog.policies, facts, catalog.default_policy)
    targets = effective_targets(policy, facts)
    clock.policy_id, clock.calendar_id, clock.ladder_id = policy.id, policy.calendar_id, policy.ladder_id
    clock.warning_share = policy.warning_share
    cal = catalog.calendar(policy.calendar_id)
    wanted = {"first_response": targets.first_response_seconds, "resolution": targets.resolution_seconds,
              "take_into_work": targets.take_into_work_seconds}
    for name, secs in wanted.items():
        tc = clock.targets.get(name)
        if opening and secs and name != "take_into_work":
            clock.targets[name] = start_target(secs, at, cal, clock.warning_share)
        elif tc is not None and secs and secs != tc.target_seconds:
            tc.target_seconds = secs
            if tc.running:
                pause_target(tc, at, cal)
                resume_target(tc, at, cal, clock.warning_share)


# The events that open or move a clock: ``_apply`` has a branch for each. Any other (a notification recorded,
# a flag, a client's message) leaves every clock as it was, so the worker skips it without reading MongoDB:
# on a busy desk those are most of tickets.events. Add a type here when ``_apply`` learns it.
CLOCK_EVENTS: tuple[type[Message], ...] = (
    tickets.TicketOpened, tickets.ReplySent, tickets.TicketAssigned, tickets.WorkStarted, tickets.TicketPutOnHold,
    tickets.TicketResumed, tickets.TicketResolved, tickets.TicketReopened, tickets.TicketCompleted,
    tickets.TicketClosed, tickets.TicketOffered, tickets.TicketEscalated, tickets.TicketClassified,
    tickets.ClientLinked, tickets.DeadlineSet, tickets.CustomFieldsSet, tickets.TicketMerged,
)


def moves_clock(msg: Message) -> bool:
    return isinstance(msg, CLOCK_EVENTS)


def apply(clock: SlaClock | None, ticket_id: str, event_id: str, msg: Message, at: datetime,
          catalog: Catalog) -> SlaClock | None:
    """The clock after ``msg``; None when the ticket has no clock and this event does not open one."""
    if not moves_clock(msg):
        return clock
    if isinstance(msg, tickets.TicketOpened):
        if clock is not None:
            return clock
        clock = open_clock(ticket_id, msg, at, catalog)
    elif clock is None:
        return None
    elif event_id in clock.applied:
        return clock
    else:
        clock = clock.model_copy(deep=True)
        _apply(clock, msg, at, catalog)
    clock.applied = [*clock.applied, event_id][-APPLIED_KEEP:]
    return clock


def _apply(clock: SlaClock, msg: Message, at: datetime, catalog: Catalog) -> None:
    cal = catalog.calendar(clock.calendar_id)
    tg = clock.targets
    if (after := status_after(msg, clock.assignee_id)) is not None:
        clock.status = after.value
    if isinstance(msg, tickets.ReplySent):
        if "first_response" in tg:
            meet_target(tg["first_response"], at, cal)
    elif isinstance(msg, tickets.TicketAssigned):
        clock.assigned_at, clock.work_started_at = at, None
        clock.assignee_id = msg.agent_id
        clock.assign_epoch += 1
        policy = choose_policy(catalog.policies, facts_of(clock), catalog.default_policy)
        secs = effective_targets(policy, facts_of(clock)).take_into_work_seconds
        if secs:
            old = tg.get("take_into_work")
            tg["take_into_work"] = start_target(secs, at, cal, clock.warning_share, (old.epoch + 1) if old else 0)
    elif isinstance(msg, tickets.WorkStarted):
        clock.work_started_at = at
        if "take_into_work" in tg:
            meet_target(tg["take_into_work"], at, cal)
    elif isinstance(msg, tickets.TicketPutOnHold):
        clock.paused, clock.paused_at = True, at
        for name in PAUSABLE:
            if name in tg:
                pause_target(tg[name], at, cal)
    elif isinstance(msg, tickets.TicketResumed):
        clock.paused, clock.paused_at = False, None
        for name in PAUSABLE:
            if name in tg:
                resume_target(tg[name], at, cal, clock.warning_share)
    elif isinstance(msg, tickets.TicketResolved):
        clock.paused = False
        for tc in tg.values():  # resolving answers the client and ends every clock
            meet_target(tc, at, cal)
    elif isinstance(msg, tickets.TicketReopened):
        res = tg.get("resolution")
        if res is not None and res.met_at is not None:
            res.met_at, res.met = None, None
            resume_target(res, at, cal, clock.warning_share)
    elif isinstance(msg, (tickets.TicketCompleted, tickets.TicketClosed, tickets.TicketMerged)):  # merged: closed
        for tc in tg.values():
            stop_target(tc, at, cal)
    elif isinstance(msg, (tickets.TicketOffered, tickets.TicketEscalated)):
        if msg.group_id:
            clock.group_id = msg.group_id
        if isinstance(msg, tickets.TicketEscalated):
            clock.work_started_at = None  # the next line takes it afresh
    elif isinstance(msg, tickets.TicketClassified):
        cls = msg.classification
        clock.ticket_type, clock.priority = msg.ticket_type.value, msg.priority
        clock.service_id = cls.sub_service_id or cls.service_id or clock.service_id
        clock.product = cls.product or clock.product
        _retarget(clock, at, catalog)
    elif isinstance(msg, tickets.ClientLinked):
        clock.client_id, clock.contract_id = msg.client.client_id, msg.client.contract_id
        clock.category = msg.client.category
        _retarget(clock, at, catalog)
    elif isinstance(msg, tickets.CustomFieldsSet):
        clock.custom_fields = {**clock.custom_fields, **msg.values}
        clock.custom_fields = {k: v for k, v in clock.custom_fields.items() if v is not None}
        _retarget(clock, at, catalog)
    elif isinstance(msg, tickets.DeadlineSet):
        if msg.deadline != clock.deadline:
            clock.deadline, clock.deadline_set_at, clock.reminders_sent = msg.deadline, at, []


# ---- timers -------------------------------------------------------------------------------------


def timer_id(ticket_id: str, *parts: object) -> str:
    return derived_id("sla-timer", ticket_id, *parts)


def _breach_pending(tc: TargetClock) -> bool:
    """Breach still to record: running, or met after its due time before the breach timer fired."""
    if tc.breached or tc.due_at is None:
        return False
    return tc.running or (tc.met_at is not None and tc.met_at > tc.due_at and tc.met is False)


def desired_timers(clock: SlaClock, catalog: Catalog) -> list[TimerPlan]:
    out: list[TimerPlan] = []
    tid = clock.id
    for name, tc in clock.targets.items():
        data = {"target": name, "epoch": tc.epoch}
        if tc.running and not tc.warned and tc.warn_at is not None and tc.warn_at < (tc.due_at or tc.warn_at):
            out.append(TimerPlan(timer_id(tid, WARN, name, tc.epoch), tc.warn_at, WARN, data))
        if _breach_pending(tc) and tc.due_at is not None:
            out.append(TimerPlan(timer_id(tid, BREACH, name, tc.epoch), tc.due_at, BREACH, data))
    ladder = catalog.ladder(clock.ladder_id)
    for step in ladder.steps:
        anchor = _anchor(clock, step)
        if anchor is None or _ladder_key(clock, step) in clock.ladder_fired or not _holds(clock, step):
            continue
        epoch = clock.assign_epoch if step.start == "assigned" else 0
        out.append(TimerPlan(timer_id(tid, LADDER, ladder.id, step.step, step.start, epoch),
                             anchor + timedelta(seconds=step.after_seconds), LADDER,
                             {"ladder_id": ladder.id, "step": step.step, "epoch": epoch}))
    if clock.deadline is not None and clock.status in ACTIVE_STATUSES:
        for offset in catalog.reminder_offsets:
            at = clock.deadline - timedelta(seconds=offset)
            if offset in clock.reminders_sent or (clock.deadline_set_at and at < clock.deadline_set_at):
                continue
            out.append(TimerPlan(timer_id(tid, DEADLINE, offset, clock.deadline.isoformat()), at, DEADLINE,
                                 {"offset": offset, "deadline": clock.deadline.isoformat()}))
    return out


def next_timers(plans: list[TimerPlan]) -> list[TimerPlan]:
    """The plans kept as timer documents: the earliest (ties together). Each firing derives the next plans from
    the new state and schedules the earliest of them, so a ticket holds one pending timer, not one per future
    step (every timer costs a document and its index entries on every write), and its steps fire in due order."""
    if not plans:
        return []
    first = min(p.due_at for p in plans)
    return [p for p in plans if p.due_at == first]


def _anchor(clock: SlaClock, step: LadderStep) -> datetime | None:
    return clock.assigned_at if step.start == "assigned" else clock.breach_started_at


def _ladder_key(clock: SlaClock, step: LadderStep) -> str:
    return f"{step.step}:{clock.assign_epoch if step.start == 'assigned' else 0}"


def _holds(clock: SlaClock, step: LadderStep) -> bool:
    if step.condition == "not_in_progress":
        return clock.status == "assigned" and clock.work_started_at is None
    return clock.status in ACTIVE_STATUSES  # unresolved


# ---- firing -------------------------------------------------------------------------------------


@dataclass
class Firing:
    """What a due timer does: the new clock, sla.events payloads, ledger commands, escalations to resolve."""

    clock: SlaClock
    events: list[Message] = field(default_factory=list)
    commands: list[Message] = field(default_factory=list)
    escalation: LadderStep | None = None
    ladder_id: str = ""


def fire(clock: SlaClock, kind: str, data: dict[str, object], due_at: datetime, catalog: Catalog) -> Firing | None:
    """None = the condition no longer holds (met, paused, moved, already done): nothing to do."""
    firing = _fire(clock.model_copy(deep=True), kind, data, due_at, catalog)
    if firing is not None and (flag := risk.flag_change(firing.clock)) is not None:
        firing.commands.append(flag)  # a warning raises "at risk", a breach lowers it
    return firing


def _fire(clock: SlaClock, kind: str, data: dict[str, object], due_at: datetime, catalog: Catalog) -> Firing | None:
    if kind in (WARN, BREACH):
        tc = clock.targets.get(str(data["target"]))
        if tc is None or tc.epoch != data["epoch"]:
            return None
        target = str(data["target"])
        if kind == WARN:
            if tc.warned or not tc.running or tc.due_at is None:
                return None
            tc.warned = True
            share = clock.warning_share or 0.0
            return Firing(clock, [sla.SlaWarning(target=target, due_at=tc.due_at, policy_id=clock.policy_id,  # type: ignore[arg-type]
                                                 share=share)])
        if not _breach_pending(tc) or tc.due_at is None:
            return None
        tc.breached, tc.breached_at, tc.met = True, due_at, (False if tc.met_at is not None else None)
        if clock.breach_started_at is None and clock.status in ACTIVE_STATUSES:
            clock.breach_started_at = due_at
        return Firing(clock, [sla.SlaBreached(target=target, due_at=tc.due_at, policy_id=clock.policy_id)],  # type: ignore[arg-type]
                      [tickets.SetFlag(flag="sla_breached", reason=f"{target} target breached")])
    if kind == LADDER:
        ladder = catalog.ladder(str(data["ladder_id"]))
        step = next((st for st in ladder.steps if st.step == data["step"]), None)
        if step is None or _ladder_key(clock, step) in clock.ladder_fired or not _holds(clock, step):
            return None
        epoch = clock.assign_epoch if step.start == "assigned" else 0
        if epoch != data["epoch"]:
            return None
        clock.ladder_fired[_ladder_key(clock, step)] = due_at
        commands: list[Message] = []
        if step.set_flag:
            reason = step.reason or f"escalation step {step.step}"
            commands.append(tickets.SetFlag(flag=step.set_flag, reason=reason))
        return Firing(clock, [], commands, escalation=step, ladder_id=ladder.id)
    if kind == DEADLINE:
        offset = float(data["offset"])  # type: ignore[arg-type]
        if (clock.deadline is None or clock.deadline.isoformat() != data["deadline"]
                or clock.status not in ACTIVE_STATUSES or offset in clock.reminders_sent):
            return None
        clock.reminders_sent = [*clock.reminders_sent, offset]
        return Firing(clock, [sla.DeadlineReminder(deadline=clock.deadline,
                                                   remaining_seconds=(clock.deadline - due_at).total_seconds())])
    return None


def escalation_messages(step: LadderStep, ladder_id: str,
                        people: list[tuple[str, str]]) -> tuple[Message, list[Message]]:
    """The EscalationStepFired event and the ledger commands for a step, given resolved (user, role) pairs."""
    users = sorted({u for u, _ in people})
    event = sla.EscalationStepFired(ladder_id=ladder_id, step=step.step, action=step.action, user_ids=users,
                                    roles=list(step.roles), reason=step.reason or f"escalation step {step.step}")
    commands: list[Message] = []
    if step.action == "add_participant":
        commands = [tickets.AddParticipant(user_id=u, role=r, reason=step.reason or None)
                    for u, r in sorted(set(people))]
    return event, commands
