"""The ledger and gateway on the one in-process desk (``tests.support.desk``), and the directory the tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, TEAMS, Agent, Line, Role, ServiceTeam, TeamMember
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import isolated_env

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def seed_directory(db: Any, at: datetime = T0) -> None:
    """Team A (ann, bob, lead lea), team B (carol); lines first → second → third."""
    lines, agents, teams = DirectoryStore(db, LINES), DirectoryStore(db, AGENTS), DirectoryStore(db, TEAMS)
    for i, (name, up) in enumerate((("first", "second"), ("second", "third"), ("third", None)), start=1):
        await lines.put(Line(id=name, order=i, escalates_to=up), actor="seed", at=at)
    await lines.put(Line(id="development", order=99), actor="seed", at=at)
    for agent in (Agent(id="ann", name="Ann", line_ids=["first"], team_ids=["A"]),
                  Agent(id="bob", name="Bob", line_ids=["first"], team_ids=["A"]),
                  Agent(id="lea", name="Lea", roles=[Role.team_lead], team_ids=["A"]),
                  Agent(id="carol", name="Carol", line_ids=["first"], team_ids=["B"])):
        await agents.put(agent, actor="seed", at=at)
    await teams.put(ServiceTeam(id="A", name="Team A", members=[TeamMember(agent_id="ann"), TeamMember(agent_id="bob"),
                                                                 TeamMember(agent_id="lea", role=Role.team_lead)]),
                    actor="seed", at=at)
    await teams.put(ServiceTeam(id="B", name="Team B", members=[TeamMember(agent_id="carol")]), actor="seed", at=at)


@asynccontextmanager
async def stack(infra: dict[str, str], **overrides: Any) -> AsyncIterator[Desk]:
    """The ledger and the gateway (the desk's front) in this loop, in a namespace of their own, directory seeded."""
    env = {**infra, **isolated_env()}
    settings = {"gateway": {"action_wait_seconds": 5.0, **overrides}}
    async with running_desk(env, ManualClock(T0), ["gateway"], settings=settings, base_url="http://gw") as d:
        await seed_directory(d.db)
        yield d


def ids(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {item["id"] for item in resp.json()["items"]}
