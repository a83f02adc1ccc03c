"""An SLA warning reaches people: the ticket's flag and history, and the scoped ``at_risk`` queue; the breach
takes the ticket out of it again, and so does meeting the target (real broker, database, ledger, SLA service
and gateway, one moved clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.collections import TICKET_VIEWS
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, TEAMS, Agent, Role, ServiceTeam, TeamMember
from shared.directory.sla import POLICIES, SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import eventually, make_settings, running

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WAIT = 60.0  # the machine is shared and loaded: room for the timer loop and three consumers


async def seed(db: Any) -> None:
    await DirectoryStore(db, POLICIES).put(
        SlaPolicy(id="default", targets=Targets(first_response_seconds=3600.0), warning_share=0.8), actor="t", at=T0)
    agents, teams = DirectoryStore(db, AGENTS), DirectoryStore(db, TEAMS)
    for agent in (Agent(id="ann", name="Ann", line_ids=["first"], team_ids=["A"]),
                  Agent(id="lea", name="Lea", roles=[Role.team_lead], team_ids=["A"]),
                  Agent(id="carol", name="Carol", line_ids=["first"], team_ids=["B"])):
        await agents.put(agent, actor="t", at=T0)
    await teams.put(ServiceTeam(id="A", name="A", members=[TeamMember(agent_id="ann"),
                                                           TeamMember(agent_id="lea", role=Role.team_lead)]),
                    actor="t", at=T0)
    await teams.put(ServiceTeam(id="B", name="B", members=[TeamMember(agent_id="carol")]), actor="t", at=T0)


async def test_warning_flags_the_ticket_lists_it_at_risk_in_scope_and_the_breach_takes_it_out(
        env: dict[str, str]) -> None:
    clock = ManualClock(T0)
    sla_settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    gw_settings = make_settings(GatewaySettings, env)
    client = mongo_client(sla_settings)
    db = database(client, sla_settings)
    await seed(db)
    bus = KafkaBus(sla_settings, "test")
    ledger, sla = tickets_app(make_settings(TicketsSettings, env), clock), sla_app(sla_settings, clock)
    gateway = gateway_app(gw_settings, clock)
    async with running(ledger), running(sla), running(gateway), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://gw", timeout=30) as http:
        await bus.start()
        try:
            for ticket_id, team in (("RA", "A"), ("RB", "B"), ("RC", "A")):
                await bus.publish(TICKETS_COMMANDS, envelope_for(t.OpenTicket(
                    channel=Channel.web, subject="slow", text="help",
                    client=ClientRef(client_id=f"C-{team}", service_team_id=team)), ticket_id, occurred_at=T0,
                    actor="test"))
            clocks = db["sla_clocks"]
            await eventually(lambda: _count_is(clocks, {"_id": {"$in": ["RA", "RB", "RC"]}}, 3), timeout=WAIT,
                             message="the clocks opened")

            def token(user: str, role: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {mint_token(gw_settings, user, role, clock=clock)}"}

            async def at_risk(user: str, role: str) -> set[str]:
                resp = await http.get("/api/v1/queues/at_risk", headers=token(user, role))
                assert resp.status_code == 200, resp.text
                return {item["id"] for item in resp.json()["items"]}

            assert await at_risk("root", "administrator") == set()
            clock.set(T0 + timedelta(minutes=48, seconds=1))  # 80 % of the one-hour first-response target
            tickets = db[TICKET_VIEWS]  # what the queues read: the gateway's copies, right behind the ledger
            await eventually(lambda: _count_is(tickets, {"flags.sla_at_risk": True}, 3), timeout=WAIT,
                             message="every ticket flagged at risk")
            assert await at_risk("ann", "specialist") == {"RA", "RC"}

            clock.set(T0 + timedelta(minutes=50))  # RC's first response meets the target: no longer at risk
            for msg in (t.AssignTicket(agent_id="ann", mode="lead"), t.ReplyToClient(agent_id="ann", text="on it")):
                await bus.publish(TICKETS_COMMANDS, envelope_for(msg, "RC", occurred_at=clock.now(), actor="test"))
            await eventually(lambda: tickets.find_one({"_id": "RC", "flags.sla_at_risk": False}), timeout=WAIT,
                             message="meeting the target lowers the flag")

            seen = (await http.get("/api/v1/tickets/RA", params={"history": "true"},
                                   headers=token("ann", "specialist"))).json()
            assert seen["flags"]["sla_at_risk"] is True
            entry = next(h for h in seen["history"] if h["type"] == "FlagChanged"
                         and h["payload"]["flag"] == "sla_at_risk")
            assert entry["payload"]["value"] is True and "first_response" in entry["payload"]["reason"]
            assert entry["actor"] == "sla"

            assert await at_risk("ann", "specialist") == {"RA"}  # team A's specialist: not team B's ticket
            assert await at_risk("carol", "specialist") == {"RB"}
            assert await at_risk("lea", "team_lead") == {"RA"}
            assert await at_risk("root", "administrator") == {"RA", "RB"}
            client_resp = await http.get("/api/v1/queues/at_risk", headers={"Authorization": "Bearer " + mint_token(
                gw_settings, "c", "client", clock=clock, client_id="C-A")})
            assert client_resp.status_code == 403

            clock.set(T0 + timedelta(hours=1, seconds=1))
            await eventually(lambda: _count_is(tickets, {"flags.sla_breached": True}, 2), timeout=WAIT,
                             message="both tickets breached")
            await eventually(lambda: _count_is(tickets, {"flags.sla_at_risk": True}, 0), timeout=WAIT,
                             message="the breach lowers the at-risk flag")
            assert await at_risk("root", "administrator") == set()
            overdue = await http.get("/api/v1/queues/overdue", headers=token("ann", "specialist"))
            assert {i["id"] for i in overdue.json()["items"]} == {"RA"}
            history = (await http.get("/api/v1/tickets/RA", params={"history": "true"},
                                      headers=token("ann", "specialist"))).json()["history"]
            risk = [h["payload"]["value"] for h in history if h["type"] == "FlagChanged"
                    and h["payload"]["flag"] == "sla_at_risk"]
            assert risk == [True, False]
            met = await tickets.find_one({"_id": "RC"})
            assert met is not None and not met["flags"].get("sla_breached")
        finally:
            await bus.stop()
            await client.close()


async def _count_is(coll: Any, query: dict[str, Any], n: int) -> bool:
    return await coll.count_documents(query) == n
