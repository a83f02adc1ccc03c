"""Shared set-up for the SLA integration tests: directory entries and ledger commands."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, GROUPS, Agent, Group, Role
from shared.directory.sla import CALENDARS, LADDERS, POLICIES, BusinessCalendar, EscalationLadder, SlaPolicy
from shared.runtime.kafka import KafkaBus

AT = datetime(2026, 1, 1)


async def seed_people(db: AsyncDatabase) -> None:
    agents = DirectoryStore(db, AGENTS)
    for agent_id, role in (("boss", Role.head_of_service), ("div", Role.head_of_division),
                           ("cto", Role.technical_director), ("lead1", Role.team_lead), ("a1", Role.specialist)):
        await agents.put(Agent(id=agent_id, name=agent_id, roles=[role]), actor="test", at=AT)
    await DirectoryStore(db, GROUPS).put(Group(id="g1", line_id="first", lead_ids=["lead1"]), actor="test", at=AT)


async def seed_sla(db: AsyncDatabase, policy: SlaPolicy, calendar: BusinessCalendar | None = None,
                   ladder: EscalationLadder | None = None) -> None:
    await DirectoryStore(db, POLICIES).put(policy, actor="test", at=AT)
    if calendar:
        await DirectoryStore(db, CALENDARS).put(calendar, actor="test", at=AT)
    if ladder:
        await DirectoryStore(db, LADDERS).put(ladder, actor="test", at=AT)


async def command(bus: KafkaBus, ticket_id: str, msg: Message, at: datetime) -> None:
    await bus.publish(TICKETS_COMMANDS, envelope_for(msg, ticket_id, occurred_at=at, actor="test"))


def open_ticket(group_id: str | None = "g1") -> t.OpenTicket:
    return t.OpenTicket(channel=Channel.email, subject="SLA", text="help", group_id=group_id)


def distinct(envs: list[Envelope]) -> list[Envelope]:
    """First record of each id: a re-fire after a crash repeats ids, readers dedupe by id."""
    seen: dict[str, Envelope] = {}
    for e in envs:
        if e.id in seen:
            assert seen[e.id].payload == e.payload and seen[e.id].type == e.type, "same id, different content"
        seen.setdefault(e.id, e)
    return list(seen.values())


def kinds(envs: list[Envelope]) -> Counter[str]:
    out: Counter[str] = Counter()
    for e in distinct(envs):
        p = e.payload
        if e.type in ("SlaWarning", "SlaBreached"):
            out[f"{e.type}:{p['target']}"] += 1
        elif e.type == "EscalationStepFired":
            out[f"step:{p['step']}"] += 1
        elif e.type == "FlagChanged":
            out[f"flag:{p['flag']}"] += 1
        elif e.type == "ParticipantAdded":
            out[f"participant:{p['user_id']}:{p['role']}"] += 1
        else:
            out[e.type] += 1
    return out
