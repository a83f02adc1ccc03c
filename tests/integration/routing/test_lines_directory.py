"""The lines directory decides: admins set lines through the gateway, routing places a client's choice on the line
serving it, and escalation follows each line's ``escalates_to`` (the real ledger, routing and gateway)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from routing_support import RoutingDesk, desk

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from shared.contracts.schemas.common import RequestedLine
from shared.directory.routing import Agent
from shared.runtime.clock import ManualClock
from tests.support.testing import isolated_env, make_settings, running

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BASE = "/api/v1/admin/directories/lines"
# Written last-first: a line may only name a line that exists. "sales", not the legacy "commercial", serves
# not-technical clients, so a ticket landing there proves the directory was read.
LINES = [{"id": "third", "order": 3}, {"id": "second", "order": 2, "client_choices": ["technical"],
                                      "escalates_to": "third"},
         {"id": "first", "order": 1, "client_choices": ["plain"], "escalates_to": "second"},
         {"id": "sales", "order": 4, "client_choices": ["not_technical"], "name": {"ru": "Продажи", "en": "Sales"}}]


@dataclass
class Desk3:
    desk: RoutingDesk
    http: httpx.AsyncClient
    settings: GatewaySettings

    def token(self, user: str, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, user, role, clock=self.desk.clock, **claims)}"}

    async def put_line(self, line: dict[str, Any], if_match: str | None = None) -> httpx.Response:
        headers = {**self.token("root", "administrator"), **({"If-Match": if_match} if if_match else {})}
        return await self.http.put(f"{BASE}/{line['id']}", json=line, headers=headers)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def d3(infra: dict[str, str]) -> AsyncIterator[Desk3]:
    env = {**infra, **isolated_env()}
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock, lines=False, claim_timeout_seconds=600) as d:
        settings = make_settings(GatewaySettings, env, action_wait_seconds=30.0)
        gateway = gateway_app(settings, clock)
        async with running(gateway), httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                                       base_url="http://gw", timeout=60) as http:
            d3 = Desk3(d, http, settings)
            for line in LINES:
                resp = await d3.put_line(line)
                assert resp.status_code == 200, resp.text
            await d.put(*(Agent(id=who, name=who.title(), line_ids=[line])
                          for who, line in (("ann", "first"), ("sid", "second"), ("sam", "sales"))))
            yield d3


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()  # type: ignore[no-any-return]


async def test_a_client_choosing_not_technical_lands_on_the_line_that_serves_it(d3: Desk3) -> None:
    await d3.desk.open("NT-1", requested_line=RequestedLine.not_technical)
    offer = (await d3.desk.wait("NT-1", "TicketOffered", timeout=60))[0].payload
    assert (offer["line"], offer["agent_ids"]) == ("sales", ["sam"])


async def test_an_admin_moving_a_choice_moves_the_next_client(d3: Desk3) -> None:
    admin = d3.token("root", "administrator")
    sales = (await d3.http.get(f"{BASE}/sales", headers=admin)).json()["data"]
    assert (await d3.put_line({**sales, "client_choices": []}, if_match="*")).status_code == 200
    assert (await d3.put_line({**LINES[2], "client_choices": ["plain", "not_technical"]}, "*")).status_code == 200
    try:
        await d3.desk.open("NT-2", requested_line=RequestedLine.not_technical)
        offer = (await d3.desk.wait("NT-2", "TicketOffered", timeout=60))[0].payload
        assert (offer["line"], offer["agent_ids"]) == ("first", ["ann"])
        audit = (await d3.http.get(f"{BASE}/audit", params={"key": "first"}, headers=admin)).json()["items"]
        assert audit[0]["actor"] == "root" and audit[0]["data"]["client_choices"] == ["plain", "not_technical"]
    finally:
        assert (await d3.put_line(LINES[2], if_match="*")).status_code == 200
        assert (await d3.put_line(sales, if_match="*")).status_code == 200


async def test_escalation_follows_the_chain_and_past_the_last_line_is_refused(d3: Desk3) -> None:
    d = d3.desk
    await d.open("ESC-1", requested_line=RequestedLine.plain)
    offer = (await d.wait("ESC-1", "TicketOffered", timeout=60))[0].payload
    assert (offer["line"], offer["agent_ids"]) == ("first", ["ann"])
    ann, admin = d3.token("ann", "specialist", lines=["first"]), d3.token("root", "administrator")
    assert (await d3.http.post("/api/v1/tickets/ESC-1/claim", headers=ann)).status_code == 200
    up = await d3.http.post("/api/v1/tickets/ESC-1/escalate", json={"reason": "network"}, headers=ann)
    assert up.status_code == 200, up.text
    assert up.json()["line"] == "second"  # the line first names, not the next by order
    assert (await d3.http.post("/api/v1/tickets/ESC-1/escalate", json={}, headers=admin)).json()["line"] == "third"
    refused = problem(await d3.http.post("/api/v1/tickets/ESC-1/escalate", json={}, headers=admin), 409)
    assert refused["code"] == "no_next_line" and "third escalates to no line" in refused["detail"]
    sideways = problem(await d3.http.post("/api/v1/tickets/ESC-1/escalate", json={"to_line": "sales"},
                                          headers=admin), 409)
    assert sideways["code"] == "no_next_line"
    await d.applied("ESC-1", (await d.wait("ESC-1", "TicketEscalated", count=2))[-1])
    doc = await d.ticket("ESC-1")
    assert doc["line"] == "third" and [h["to_line"] for h in doc["handovers"]] == ["second", "third"]
    # the refusals were the gateway's: no escalation reached the ledger for this ticket (routing's offer for line
    # second, if it lost the race with the second escalation, is the only command the ledger may have refused)
    rejected = [e.payload for e in d.events.of("ESC-1", "CommandRejected")]
    assert len(d.events.of("ESC-1", "TicketEscalated")) == 2
    assert all((r["command_type"], r["code"]) == ("OfferTicket", "stale_offer") for r in rejected), rejected


async def test_a_line_named_out_of_the_chain_is_refused(d3: Desk3) -> None:
    d = d3.desk
    await d.open("ESC-2", requested_line=RequestedLine.technical)
    assert (await d.wait("ESC-2", "TicketOffered", timeout=60))[0].payload["line"] == "second"
    admin = d3.token("root", "administrator")
    down = problem(await d3.http.post("/api/v1/tickets/ESC-2/escalate", json={"to_line": "first"}, headers=admin),
                   409)
    assert down["code"] == "not_on_chain" and "second → third" in down["detail"]
    assert (await d.ticket("ESC-2"))["line"] == "second"


async def test_writes_that_break_the_chain_or_the_choices_are_refused_and_not_audited(d3: Desk3) -> None:
    admin = d3.token("root", "administrator")
    before = (await d3.http.get(f"{BASE}/audit", headers=admin)).json()["items"]
    cases = [({"id": "x", "order": 9, "escalates_to": "nowhere"}, None, "x escalates to nowhere, which is not in"),
             ({"id": "third", "order": 3, "escalates_to": "first"}, "*", "loop: first → second → third → first"),
             ({"id": "third", "order": 3, "escalates_to": "third"}, "*", "loop: third → third"),
             ({"id": "vip", "order": 5, "client_choices": ["plain"]}, None, "plain is served by more than one line"),
             ({"id": "first", "order": 1, "client_choices": ["technical"], "escalates_to": "second"}, "*",
              "technical is served by more than one line: first, second")]
    for line, if_match, words in cases:
        body = problem(await d3.put_line(line, if_match), 422)
        assert words in body["detail"], (line, body)
    gone = problem(await d3.http.delete(f"{BASE}/second", headers=admin), 409)
    assert "first escalates to second, which is not in" in gone["detail"]
    assert (await d3.http.get(f"{BASE}/x", headers=admin)).status_code == 404
    assert (await d3.http.get(f"{BASE}/third", headers=admin)).json()["data"]["escalates_to"] is None
    assert (await d3.http.get(f"{BASE}/second", headers=admin)).status_code == 200
    assert (await d3.http.get(f"{BASE}/audit", headers=admin)).json()["items"] == before


async def test_an_unrelated_write_is_not_blocked_by_an_old_inconsistency(d3: Desk3) -> None:
    # written around the gateway (a desk from before the check): "old" claims plain too
    from shared.directory import DirectoryStore
    from shared.directory.routing import LINES as LINES_DIR
    from shared.directory.routing import Line

    await DirectoryStore(d3.desk.db, LINES_DIR).put(Line(id="old", order=8, client_choices=["plain"]), actor="seed",
                                                    at=MONDAY_10)
    try:
        fixed_name = await d3.put_line({**LINES[3], "name": {"ru": "Продажи", "en": "Sales desk"}}, "*")
        assert fixed_name.status_code == 200, fixed_name.text
        still = problem(await d3.put_line({"id": "old", "order": 8, "client_choices": ["plain"],
                                           "escalates_to": "gone"}, "*"), 422)
        assert "old escalates to gone" in still["detail"] and "plain" not in still["detail"]
    finally:
        await DirectoryStore(d3.desk.db, LINES_DIR).delete("old", actor="seed", at=MONDAY_10)
