"""Refusals of the actions the ledger never refuses itself (internal note, link-client) and of availability,
and leads setting their agents' availability.

The ledger accepts any note or client link on an existing ticket, so the refusals are the gateway's: 404 for a
ticket outside the caller's scope (existence does not leak), 403 for a role that may not act, 422 for a body that
does not validate — each an RFC 9457 problem, and none of them reaches the ledger (checked through the ledger's
own history after a later accepted command on the same ticket, which the ledger processes in order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from gateway_support import stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, Client
from shared.directory.routing import AGENTS
from tests.support.desk import Desk


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.seed([
            ("R1", t.OpenTicket(channel=Channel.web, line="first", client=ClientRef(client_id="C-1",
                                                                                 service_team_id="A"))),
            ("R1", t.AssignTicket(agent_id="ann", mode="lead")),
            ("R2", t.OpenTicket(channel=Channel.web, line="first")),  # unidentified sender, no team
            ("R2", t.AssignTicket(agent_id="ann", mode="lead")),
        ])
        yield s


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["title"]
    return body


async def history_types(gw: Desk, ticket_id: str) -> list[str]:
    doc = await gw.db.tickets.find_one({"_id": ticket_id}, {"history": 1})
    return [h["type"] for h in doc["history"]]


async def test_internal_note_refusals(gw: Desk) -> None:
    url = "/api/v1/tickets/R1/notes"
    carol = gw.token("carol", "specialist")  # team B: R1 is team A's
    assert "R1" in problem(await gw.http.post(url, json={"text": "peek"}, headers=carol), 404)["detail"]
    client = gw.token("u1", "client", client_id="C-1")  # R1's own client: notes are internal
    problem(await gw.http.post(url, json={"text": "mine"}, headers=client), 403)
    ann = gw.token("ann", "specialist")
    for body in ({"text": ""}, {}, {"text": "x", "extra": 1}, {"text": "x" * 100_001}):
        refused = problem(await gw.http.post(url, json=body, headers=ann), 422)
        assert refused["errors"], body
    problem(await gw.http.post("/api/v1/tickets/NOPE/notes", json={"text": "x"}, headers=ann), 404)
    accepted = await gw.http.post(url, json={"text": "the one note"}, headers=ann)
    assert accepted.status_code == 200, accepted.text
    assert (await history_types(gw, "R1")).count("NoteAdded") == 1


async def test_link_client_refusals(gw: Desk) -> None:
    url, link = "/api/v1/tickets/R2/link-client", {"client": {"client_id": "C-9", "service_team_id": "A"}}
    await DirectoryStore(gw.db, CLIENTS).put(Client(id="C-9", name="Nine", service_team_id="A"), actor="seed",
                                             at=gw.clock.now())
    # R2 has no team and is on the first line: a second-line specialist does not see it
    problem(await gw.http.post(url, json=link, headers=gw.token("sam", "specialist", lines=["second"])), 404)
    problem(await gw.http.post(url, json=link, headers=gw.token("u9", "client", client_id="C-9")), 403)
    ann = gw.token("ann", "specialist")
    for body in ({"client": {}}, {"client": {"client_id": "C-9", "nickname": "x"}}, {}, {"client": "C-9"}):
        assert problem(await gw.http.post(url, json=body, headers=ann), 422)["errors"], body
    assert (await gw.http.get("/api/v1/tickets/R2", headers=ann)).json()["unidentified"] is True
    linked = await gw.http.post(url, json=link, headers=ann)
    assert linked.status_code == 200 and linked.json()["client"]["client_id"] == "C-9"
    assert (await history_types(gw, "R2")).count("ClientLinked") == 1


async def availability(gw: Desk, agent_id: str) -> str:
    agent = await DirectoryStore(gw.db, AGENTS).get(agent_id)
    assert agent is not None
    return str(agent.availability)


async def test_set_my_availability_refusals(gw: Desk) -> None:
    url, ann = "/api/v1/me/availability", gw.token("ann", "specialist")
    for body in ({"availability": "napping"}, {}, {"availability": "lunch", "until": "13:00"}):
        assert problem(await gw.http.put(url, json=body, headers=ann), 422)["errors"], body
    problem(await gw.http.put(url, json={"availability": "lunch"}, headers=gw.token("u1", "client",
                                                                                  client_id="C-1")), 403)
    problem(await gw.http.put(url, json={"availability": "lunch"}, headers=gw.token("ghost", "specialist")), 404)
    problem(await gw.http.put(url, json={"availability": "lunch"}), 401)
    assert await availability(gw, "ann") == "online"  # nothing above changed anything


async def test_a_lead_sets_the_availability_of_an_agent_of_their_team(gw: Desk) -> None:
    lea = gw.token("lea", "team_lead")  # lead of team A (ann, bob) by the directory
    done = await gw.http.put("/api/v1/agents/bob/availability", json={"availability": "sick"}, headers=lea)
    assert done.status_code == 200, done.text
    assert done.json()["id"] == "bob" and done.json()["availability"] == "sick"
    assert await availability(gw, "bob") == "sick"
    # the same write path as self-service, attributed to the lead in the directory and its audit
    entry = await gw.db["dir_agents"].find_one({"_id": "bob"})
    assert entry["_updated_by"] == "lea"
    audit = [a async for a in gw.db["dir_audit"].find({"directory": "agents", "key": "bob"}).sort("version", -1)]
    assert audit[0]["actor"] == "lea" and audit[0]["data"]["availability"] == "sick"
    # a lead of another team, a lead for someone outside their teams, and specialists (even for themselves)
    lee = gw.token("lee", "team_lead", teams=["B"])
    for who, agent in ((lee, "ann"), (lea, "carol"), (gw.token("ann", "specialist"), "bob"),
                       (gw.token("ann", "specialist"), "ann")):
        denied = problem(await gw.http.put(f"/api/v1/agents/{agent}/availability", json={"availability": "online"},
                                           headers=who), 403)
        assert denied["detail"]
    assert (await availability(gw, "bob"), await availability(gw, "carol")) == ("sick", "online")
    admin = gw.token("root", "administrator")
    assert (await gw.http.put("/api/v1/agents/carol/availability", json={"availability": "vacation"},
                              headers=admin)).json()["availability"] == "vacation"
    problem(await gw.http.put("/api/v1/agents/ghost/availability", json={"availability": "online"}, headers=admin),
            404)
    problem(await gw.http.put("/api/v1/agents/bob/availability", json={"availability": "asleep"}, headers=lea), 422)
    # lea's team list shows what she set
    team = {a["id"]: a for a in (await gw.http.get("/api/v1/agents", headers=lea)).json()["items"]}
    assert team["bob"]["availability"] == "sick"
