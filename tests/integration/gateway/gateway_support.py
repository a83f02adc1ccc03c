"""A running ledger + gateway on the real broker and database, tokens, and seeding helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.gateway.app import create_app as gateway_app
from services.gateway.auth import mint_token
from services.gateway.settings import GatewaySettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, LINES, TEAMS, Agent, Line, Role, ServiceTeam, TeamMember
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, eventually, isolated_env, make_settings, running

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Stack:
    settings: GatewaySettings
    clock: ManualClock
    app: FastAPI
    http: httpx.AsyncClient
    bus: KafkaBus
    tap: Tap
    db: Any

    def token(self, user: str, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, user, role, clock=self.clock, **claims)}"}

    async def seed(self, commands: Sequence[tuple[str, Message]], actor: str = "seed") -> list[Envelope]:
        """Send commands straight to the ledger and wait until each one has been answered."""
        envs = [envelope_for(msg, tid, occurred_at=self.clock.now(), actor=actor) for tid, msg in commands]
        for env in envs:  # in order: a ticket's commands must follow its opening
            await self.bus.publish(TICKETS_COMMANDS, env)
        ids = {e.id for e in envs}
        await eventually(lambda: ids <= {e.causation_id for e in self.tap.items}, timeout=20,
                         message="seeded commands answered")
        rejected = [e for e in self.tap.items if e.causation_id in ids and e.type == "CommandRejected"]
        assert not rejected, [e.payload for e in rejected]
        return envs


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
async def stack(infra: dict[str, str], **overrides: Any) -> AsyncIterator[Stack]:
    env = {**infra, **isolated_env()}
    clock = ManualClock(T0)
    settings = make_settings(GatewaySettings, env, **{"action_wait_seconds": 5.0, **overrides})
    tickets_settings = make_settings(TicketsSettings, env)
    ledger, gateway = tickets_app(tickets_settings, clock), gateway_app(settings, clock)
    async with AsyncExitStack() as es:
        await es.enter_async_context(running(ledger))
        await es.enter_async_context(running(gateway))
        tap = await es.enter_async_context(Tap(settings, TICKETS_EVENTS))
        bus = KafkaBus(settings, "test-seed")
        await bus.start()
        es.push_async_callback(bus.stop)
        client = mongo_client(settings)
        es.push_async_callback(client.close)
        db = database(client, settings)
        await seed_directory(db)
        http = await es.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw", timeout=30))
        yield Stack(settings, clock, gateway, http, bus, tap, db)


def ids(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {item["id"] for item in resp.json()["items"]}
