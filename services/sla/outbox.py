"""What the SLA sends, as outbox entries ({topic, envelope}) saved with the state that decided them, and their publish.

Ids derive from the cause (a timer's id, an event's id) and times are the due or event time, so a retry after a crash
repeats an entry byte for byte and the ledger and the readers of ``sla.events`` dedupe it.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.topics import SLA_EVENTS, TICKETS_COMMANDS
from shared.runtime.ids import derived_id
from shared.runtime.kafka import KafkaBus
from shared.runtime.timers import Timer

from . import domain
from .store import DirectoryCache

ACTOR = "sla"


async def publish(bus: KafkaBus, outbox: list[dict[str, Any]]) -> None:
    """One publish per topic, in the outbox's order."""
    envs = [(entry["topic"], Envelope.model_validate(entry["envelope"])) for entry in outbox]
    sla = [e for topic, e in envs if topic == SLA_EVENTS.name]
    cmds = [e for topic, e in envs if topic == TICKETS_COMMANDS.name]
    if sla:
        await bus.publish_many(SLA_EVENTS, sla)
    if cmds:
        await bus.publish_many(TICKETS_COMMANDS, cmds)


async def timer_envelopes(directory: DirectoryCache, timer: Timer, firing: domain.Firing,
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
            found = await directory.people(step.roles, firing.clock.group_id, firing.clock.assignee_id)
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


def command_entry(env: Envelope, command: Message) -> dict[str, Any]:
    """An outbox entry for a command an event caused; its id derives from the event's, so a retry repeats it."""
    out = envelope_for(command, env.ticket_id, occurred_at=env.occurred_at, actor=ACTOR,
                       correlation_id=env.correlation_id or env.id, id=derived_id(env.id, "sla", command.TYPE))
    return {"topic": TICKETS_COMMANDS.name, "envelope": out.model_dump(mode="json")}
