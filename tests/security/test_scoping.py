"""Attack replay (issue 16, item 5): a team-A specialist offered a team-B client's ticket read it with its
history, claimed it and replied to client B. Being offered grants nothing now: every read and action on a
ticket outside the caller's teams is a 404 problem at every status, and nothing reaches the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from integration.gateway.gateway_support import T0, ids, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, TEAMS, Agent, ServiceTeam, TeamMember
from tests.support.desk import Desk

CLIENT_B = ClientRef(client_id="C-2", service_team_id="B")
ATTEMPTS = [("GET", "/api/v1/tickets/TB", None), ("GET", "/api/v1/tickets/TB?history=true", None),
            ("POST", "/api/v1/tickets/TB/claim", None), ("POST", "/api/v1/tickets/TB/start", None),
            ("POST", "/api/v1/tickets/TB/reply", {"text": "hello client B"}),
            ("POST", "/api/v1/tickets/TB/notes", {"text": "x"}),
            ("POST", "/api/v1/tickets/TB/resolve", {"problem": "p", "solution": "s"})]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        # cory is team B's by the team directory only (his own entry lists no team), as routing counts people
        await DirectoryStore(s.db, AGENTS).put(Agent(id="cory", name="Cory", line_ids=["first"]), actor="t", at=T0)
        await DirectoryStore(s.db, TEAMS).put(ServiceTeam(id="B", name="Team B", members=[
            TeamMember(agent_id="carol"), TeamMember(agent_id="cory")]), actor="t", at=T0)
        content = InboundContent(message_id="m1", channel=Channel.email, external_id="<m1@b>", text="my passport",
                                 sender=Sender(email="client@b.example"), received_at=T0)
        await s.seed([("TB", t.ReceiveMessage(channel=Channel.email, client=CLIENT_B, content=content)),
                      # the offer the old routing made: team B's ticket to everyone on the first line
                      ("TB", t.OfferTicket(agent_ids=["ann", "bob", "carol", "cory"], line="first",
                                           service_team_id="B"))])
        yield s


async def outsiders_get_nothing(gw: Desk, status: str) -> None:
    ann, lea = gw.token("ann", "specialist"), gw.token("lea", "team_lead")  # team A; lea leads ann and bob
    for who in (ann, lea):
        for method, path, body in ATTEMPTS:
            resp = await gw.http.request(method, path, json=body, headers=who)
            assert resp.status_code == 404, (status, method, path, resp.status_code, resp.text[:200])
            assert resp.headers["content-type"].startswith("application/problem+json")
        assert "TB" not in ids(await gw.http.get("/api/v1/tickets", headers=who))
        assert "TB" not in ids(await gw.http.get("/api/v1/queues/offers", headers=who))
        assert "TB" not in ids(await gw.http.get("/api/v1/queues/offers", params={"agent_id": "ann"}, headers=lea))
        bulk = await gw.http.post("/api/v1/tickets/bulk/status", json={"ticket_ids": ["TB"], "action": "start"},
                                  headers=who)
        assert bulk.status_code == 200 and bulk.json()["results"][0]["outcome"] == "not_found"
    doc = await gw.db.tickets.find_one({"_id": "TB"})
    assert doc["status"] == status and not [h for h in doc["history"] if h["actor"] in ("ann", "lea")]


async def test_an_offer_outside_the_team_grants_nothing_at_any_status(gw: Desk) -> None:
    await outsiders_get_nothing(gw, "offered")
    carol, cory = gw.token("carol", "specialist"), gw.token("cory", "specialist")
    assert "TB" in ids(await gw.http.get("/api/v1/queues/offers", headers=cory))
    claimed = await gw.http.post("/api/v1/tickets/TB/claim", headers=carol)
    assert claimed.status_code == 200 and claimed.json()["assignee_id"] == "carol", claimed.text
    await outsiders_get_nothing(gw, "assigned")
    assert (await gw.http.post("/api/v1/tickets/TB/start", headers=carol)).status_code == 200
    await outsiders_get_nothing(gw, "in_progress")
    resolved = await gw.http.post("/api/v1/tickets/TB/resolve", json={"problem": "p", "solution": "s"},
                                  headers=carol)
    assert resolved.status_code == 200, resolved.text
    await outsiders_get_nothing(gw, "resolved")
    assert (await gw.http.get("/api/v1/tickets/TB", params={"history": True}, headers=cory)).status_code == 200
