"""The gateway keeps a staff member's directory entries per process for ``GATEWAY_DIRECTORY_CACHE_SECONDS``
(services/gateway/access/staff_directory.py). What they granted must go within that bound: a specialist taken off
a team by another writer (routing's admin, another gateway replica) loses the team's ticket once the bound has
passed, and at once when the change is made through this gateway's own directory API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from integration.gateway.gateway_support import T0, ids, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, TEAMS, Agent, ServiceTeam, TeamMember
from tests.support.desk import Desk

BOUND = 1.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra, directory_cache_seconds=BOUND) as s:
        content = InboundContent(message_id="m1", channel=Channel.email, external_id="<m1@b>", text="my visa",
                                 sender=Sender(email="client@b.example"), received_at=T0)
        await s.seed([("TB", t.ReceiveMessage(channel=Channel.email,
                                              client=ClientRef(client_id="C-2", service_team_id="B"),
                                              content=content))])
        yield s


async def sees(gw: Desk, who: dict[str, str]) -> bool:
    resp = await gw.http.get("/api/v1/tickets/TB", headers=who)
    assert resp.status_code in (200, 404), resp.text
    return resp.status_code == 200


async def test_a_membership_removed_elsewhere_stops_granting_once_the_bound_has_passed(gw: Desk) -> None:
    agents, teams = DirectoryStore(gw.db, AGENTS), DirectoryStore(gw.db, TEAMS)
    await agents.put(Agent(id="dora", name="Dora", line_ids=["second"]), actor="t", at=T0)
    await teams.put(ServiceTeam(id="B", name="Team B", members=[TeamMember(agent_id="carol"),
                                                                 TeamMember(agent_id="dora")]), actor="t", at=T0)
    dora = gw.token("dora", "specialist")
    assert await sees(gw, dora), "team B's listing grants dora team B's ticket (and is now kept)"
    # another writer takes her off the team: this gateway hears nothing of it
    await teams.put(ServiceTeam(id="B", name="Team B", members=[TeamMember(agent_id="carol")]), actor="t", at=T0)
    await asyncio.sleep(BOUND)  # what was kept was read before the change, so it is at least this old now
    assert not await sees(gw, dora)
    assert "TB" not in ids(await gw.http.get("/api/v1/tickets", headers=dora))
    claim = await gw.http.post("/api/v1/tickets/TB/claim", headers=dora)
    assert claim.status_code == 404, claim.text


async def test_a_removed_agent_entry_stops_granting_once_the_bound_has_passed(gw: Desk) -> None:
    agents = DirectoryStore(gw.db, AGENTS)
    await agents.put(Agent(id="eve", name="Eve", line_ids=["first"], team_ids=["B"]), actor="t", at=T0)
    eve = gw.token("eve", "specialist")
    assert await sees(gw, eve)
    assert await agents.delete("eve", actor="t", at=T0)
    await asyncio.sleep(BOUND)
    assert not await sees(gw, eve)


async def test_a_change_through_this_gateways_directory_api_counts_at_once(gw: Desk) -> None:
    agents = DirectoryStore(gw.db, AGENTS)
    await agents.put(Agent(id="finn", name="Finn", line_ids=["first"], team_ids=["B"]), actor="t", at=T0)
    finn, admin = gw.token("finn", "specialist"), gw.token("root", "administrator")
    assert await sees(gw, finn)
    current = await gw.http.get("/api/v1/admin/directories/agents/finn", headers=admin)
    assert current.status_code == 200, current.text
    etag = {"If-Match": current.headers["ETag"]}
    moved = await gw.http.put("/api/v1/admin/directories/agents/finn", headers={**admin, **etag},
                              json={"id": "finn", "name": "Finn", "line_ids": ["first"]})
    assert moved.status_code == 200, moved.text
    assert not await sees(gw, finn), "no wait: this replica forgot what it kept"
