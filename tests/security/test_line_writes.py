"""Attack replay (issue 17): the lines directory now decides where clients' choices land and where a ticket may
be escalated, so only administrators may change it, and an agent may not use the escalation's ``to_line`` to drop
a client's ticket on a line off its chain (the development line serves every client: a team's ticket dumped there
would be seen outside the team)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from integration.gateway.gateway_support import stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk

BASE = "/api/v1/admin/directories/lines"
HIJACK = {"id": "first", "order": 1, "client_choices": ["plain", "technical", "not_technical"],
          "escalates_to": "development"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.seed([("TL", t.OpenTicket(channel=Channel.web, client=ClientRef(client_id="C-1", service_team_id="A"),
                                          line="first")), ("TL", t.AssignTicket(agent_id="ann", mode="lead"))])
        yield s


async def _state(s: Desk) -> tuple[list[dict[str, Any]], int]:
    lines = [doc async for doc in s.db["dir_lines"].find({}).sort("_id", 1)]
    return lines, await s.db["dir_audit"].count_documents({"directory": "lines"})


async def test_only_administrators_write_lines(gw: Desk) -> None:
    before = await _state(gw)
    callers = [gw.token("ann", "specialist", lines=["first"]), gw.token("lea", "team_lead", teams=["A"]),
               gw.token("u1", "client", client_id="C-1")]
    for headers in callers:
        for method, path, body in (("PUT", f"{BASE}/first", HIJACK), ("PUT", f"{BASE}/new", {"id": "new", "order": 0}),
                                   ("DELETE", f"{BASE}/third", None)):
            resp = await gw.http.request(method, path, json=body, headers={**headers, "If-Match": "*"})
            assert resp.status_code == 403, (method, path, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
    assert await _state(gw) == before
    # the control: an administrator's write of the same body goes through the rules, not the role check
    admin = gw.token("root", "administrator")
    ok = await gw.http.put(f"{BASE}/fourth", json={"id": "fourth", "order": 4}, headers=admin)
    assert ok.status_code == 200, ok.text
    assert (await gw.http.delete(f"{BASE}/fourth", headers=admin)).status_code == 204


async def test_an_agent_cannot_escalate_a_ticket_off_its_chain(gw: Desk) -> None:
    ann = gw.token("ann", "specialist", lines=["first"])
    for target in ("development", "nowhere", "first"):
        resp = await gw.http.post("/api/v1/tickets/TL/escalate", json={"to_line": target}, headers=ann)
        assert resp.status_code == 409, (target, resp.text)
        assert resp.json()["code"] in ("not_on_chain", "no_next_line"), resp.json()
    doc = await gw.db["tickets"].find_one({"_id": "TL"}, {"line": 1, "handovers": 1})
    assert doc["line"] == "first" and doc["handovers"] == []
    assert not gw.events.of("TL", "TicketEscalated") and not gw.events.of("TL", "CommandRejected")
