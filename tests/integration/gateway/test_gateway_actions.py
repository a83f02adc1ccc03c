"""Every action's happy path and its refusal, through the HTTP API, answered by the real ledger."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
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

TEAM_A = ClientRef(client_id="C-1", service_team_id="A")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        yield s


def _ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _refused(resp: httpx.Response, code: str) -> dict[str, Any]:
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["detail"], body
    return body  # type: ignore[no-any-return]


async def _ticket(gw: Desk, tid: str, *more: t.Message, client: ClientRef | None = TEAM_A) -> None:
    await gw.seed([(tid, t.OpenTicket(channel=Channel.web, client=client, line="first")), *[(tid, m) for m in more]])


async def test_claim_start_reply_note_hold_resume(gw: Desk) -> None:
    ann, bob = gw.token("ann", "specialist"), gw.token("bob", "specialist")
    await _ticket(gw, "A1", t.OfferTicket(agent_ids=["ann", "bob"], line="first"))
    # refusal before anything: nobody can reply on an unassigned ticket
    _refused(await gw.http.post("/api/v1/tickets/A1/reply", json={"text": "hi"}, headers=ann), "invalid_state")
    claimed = _ok(await gw.http.post("/api/v1/tickets/A1/claim", headers=ann))
    assert claimed["status"] == "assigned" and claimed["assignee_id"] == "ann"
    lost = _refused(await gw.http.post("/api/v1/tickets/A1/claim", headers=bob), "already_claimed")
    assert "ann" in lost["detail"]
    _refused(await gw.http.post("/api/v1/tickets/A1/start", headers=bob), "not_assignee")
    assert _ok(await gw.http.post("/api/v1/tickets/A1/start", headers=ann))["status"] == "in_progress"
    _refused(await gw.http.post("/api/v1/tickets/A1/start", headers=ann), "invalid_state")
    replied = _ok(await gw.http.post("/api/v1/tickets/A1/reply", json={"text": "Fixed it"}, headers=ann))
    assert replied["last_message_from"] == "agent" and replied["first_response_at"]
    _ok(await gw.http.post("/api/v1/tickets/A1/notes", json={"text": "internal"}, headers=bob))
    assert (await gw.http.post("/api/v1/tickets/A1/notes", json={"text": ""}, headers=bob)).status_code == 422
    _refused(await gw.http.post("/api/v1/tickets/A1/resume", json={}, headers=ann), "invalid_state")
    held = _ok(await gw.http.post("/api/v1/tickets/A1/hold", json={"reason": "screenshots"}, headers=ann))
    assert held["status"] == "waiting_customer" and held["waiting_since"]
    _refused(await gw.http.post("/api/v1/tickets/A1/hold", json={}, headers=ann), "invalid_state")
    assert _ok(await gw.http.post("/api/v1/tickets/A1/resume", json={}, headers=ann))["status"] == "in_progress"
    history = _ok(await gw.http.get("/api/v1/tickets/A1", params={"history": True}, headers=ann))["history"]
    actors = {h["type"]: h["actor"] for h in history}
    assert actors["TicketAssigned"] == "ann" and actors["NoteAdded"] == "bob" and actors["ReplySent"] == "ann"


async def test_classify_escalate_subticket_callback(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    await _ticket(gw, "B1", t.AssignTicket(agent_id="ann", mode="lead"))
    body = {"classification": {"topic": "internet", "product": "fiber"}, "ticket_type": "complaint",
            "urgency": "urgent"}
    done = _ok(await gw.http.post("/api/v1/tickets/B1/classification", json=body, headers=ann))
    assert done["ticket_type"] == "complaint" and done["classification"]["product"] == "fiber"
    logged = await gw.http.post("/api/v1/tickets/B1/callbacks", json={"answered": False, "comment": "no answer"},
                                headers=ann)
    _ok(logged)
    parent = _ok(await gw.http.post("/api/v1/tickets/B1/subtickets", json={"summary": "export bug"}, headers=ann))
    child_id = parent["children"][0]["id"]
    assert parent["flags"]["passed_to_development"] is True
    admin = gw.token("root", "administrator")
    child = await _eventually_ok(gw, f"/api/v1/tickets/{child_id}", admin)
    assert child["parent_id"] == "B1" and child["line"] == "development"
    escalated = _ok(await gw.http.post("/api/v1/tickets/B1/escalate", json={"reason": "network"}, headers=ann))
    assert escalated["line"] == "second" and escalated["assignee_id"] is None
    assert escalated["handovers"][0]["handed_by"] == "ann"
    # ann is a first-line specialist of team A; the ticket stays in her team's scope
    third = _ok(await gw.http.post("/api/v1/tickets/B1/escalate", json={}, headers=ann))
    assert third["line"] == "third"
    _refused(await gw.http.post("/api/v1/tickets/B1/escalate", json={}, headers=ann), "no_next_line")
    # closed tickets refuse classification, sub-tickets and call-backs
    await gw.seed([("B1", t.AssignTicket(agent_id="ann", mode="lead")),
                   ("B1", t.ResolveTicket(agent_id="ann", problem="p", solution="s")),
                   ("B1", t.CloseTicket(reason="the export bug is tracked apart"))])  # over its open sub-ticket
    _refused(await gw.http.post("/api/v1/tickets/B1/classification", json=body, headers=ann), "invalid_state")
    _refused(await gw.http.post("/api/v1/tickets/B1/subtickets", json={"summary": "x"}, headers=ann), "invalid_state")
    _refused(await gw.http.post("/api/v1/tickets/B1/callbacks", json={"answered": True}, headers=ann),
             "invalid_state")
    _refused(await gw.http.post("/api/v1/tickets/B1/escalate", json={"to_line": "first"}, headers=ann),
             "no_next_line")  # third escalates to no line, whatever the status


async def _eventually_ok(gw: Desk, path: str, headers: dict[str, str]) -> dict[str, Any]:
    from tests.support.testing import eventually

    async def get() -> dict[str, Any] | None:
        resp = await gw.http.get(path, headers=headers)
        return resp.json() if resp.status_code == 200 else None

    return await eventually(get, timeout=10, message=path)


async def test_reassign_resolve_reopen(gw: Desk) -> None:
    ann, lea = gw.token("ann", "specialist"), gw.token("lea", "team_lead")
    await _ticket(gw, "C1", t.AssignTicket(agent_id="ann", mode="lead"), t.StartWork(agent_id="ann"))
    assert (await gw.http.post("/api/v1/tickets/C1/reassign", json={"agent_id": "bob"}, headers=ann)).status_code == 403
    assert (await gw.http.post("/api/v1/tickets/C1/reassign", json={"agent_id": "carol"},
                               headers=lea)).status_code == 403
    moved = _ok(await gw.http.post("/api/v1/tickets/C1/reassign", json={"agent_id": "bob", "reason": "vacation"},
                                   headers=lea))
    assert moved["assignee_id"] == "bob" and moved["previous_assignee_id"] == "ann"
    _refused(await gw.http.post("/api/v1/tickets/C1/reassign", json={"agent_id": "bob"}, headers=lea),
             "already_yours")
    bob = gw.token("bob", "specialist")
    blank = _refused(await gw.http.post("/api/v1/tickets/C1/resolve", json={"problem": "  ", "solution": "done"},
                                        headers=bob), "resolution_fields_required")
    assert "problem" in blank["detail"]
    resolved = _ok(await gw.http.post("/api/v1/tickets/C1/resolve",
                                      json={"problem": "no internet", "solution": "replaced ONT"}, headers=bob))
    assert resolved["status"] == "resolved" and resolved["resolution"]["agent_id"] == "bob"
    _refused(await gw.http.post("/api/v1/tickets/C1/resolve", json={"problem": "a", "solution": "b"}, headers=bob),
             "invalid_state")
    assert _ok(await gw.http.post("/api/v1/tickets/C1/reopen", json={"reason": "still broken"},
                                  headers=bob))["status"] == "in_progress"
    _refused(await gw.http.post("/api/v1/tickets/C1/reopen", json={}, headers=bob), "invalid_state")
    await gw.seed([("C1", t.ResolveTicket(agent_id="bob", problem="p", solution="s")), ("C1", t.CloseTicket())])
    gw.clock.advance(timedelta(minutes=10))
    _refused(await gw.http.post("/api/v1/tickets/C1/reopen", json={}, headers=bob), "reopen_window_passed")


async def test_link_client_bulk_and_availability(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    await _ticket(gw, "D1", t.AssignTicket(agent_id="ann", mode="lead"), client=None)
    # link-client takes the client from the directory (name, team), so it must exist there
    await DirectoryStore(gw.db, CLIENTS).put(Client(id="C-9", name="Nine", service_team_id="A"), actor="seed",
                                             at=gw.clock.now())
    assert _ok(await gw.http.get("/api/v1/tickets/D1", headers=ann))["unidentified"] is True
    linked = _ok(await gw.http.post("/api/v1/tickets/D1/link-client",
                                    json={"client": {"client_id": "C-9", "service_team_id": "A"}}, headers=ann))
    assert linked["unidentified"] is False and linked["client"]["client_id"] == "C-9"
    # the same link again changes nothing: the ledger records a no-op, answered at once (not 202 after the wait)
    t0 = time.monotonic()
    again = await gw.http.post("/api/v1/tickets/D1/link-client",
                               json={"client": {"client_id": "C-9", "service_team_id": "A"}}, headers=ann)
    assert again.status_code == 200 and again.json()["version"] == linked["version"]
    assert time.monotonic() - t0 < gw.settings.action_wait_seconds / 2
    client = gw.token("c9", "client", client_id="C-9")
    refused = await gw.http.post("/api/v1/tickets/D1/link-client", json={"client": {"client_id": "C-1"}},
                                 headers=client)
    assert refused.status_code == 403
    await _ticket(gw, "D2", t.AssignTicket(agent_id="ann", mode="lead"), t.StartWork(agent_id="ann"))
    await _ticket(gw, "D3")
    resp = await gw.http.post("/api/v1/tickets/bulk/status", headers=ann,
                              json={"ticket_ids": ["D2", "D3", "nope"], "action": "hold", "reason": "waiting"})
    assert resp.status_code == 200, resp.text
    results = {r["ticket_id"]: r for r in resp.json()["results"]}
    assert results["D2"]["outcome"] == "done" and results["D2"]["status"] == "waiting_customer"
    assert results["D3"]["outcome"] == "rejected" and results["D3"]["code"] == "invalid_state"
    assert results["nope"]["outcome"] == "not_found"
    avail = await gw.http.put("/api/v1/me/availability", json={"availability": "lunch"}, headers=ann)
    assert avail.status_code == 200 and avail.json()["availability"] == "lunch"
    stored = await DirectoryStore(gw.db, AGENTS).get("ann")
    assert stored is not None and stored.availability == "lunch"
    audit = await gw.db["dir_audit"].find_one({"directory": "agents", "key": "ann", "actor": "ann"})
    assert audit is not None
    ghost = await gw.http.put("/api/v1/me/availability", json={"availability": "online"},
                              headers=gw.token("ghost", "specialist"))
    assert ghost.status_code == 404
    lea = gw.token("lea", "team_lead")
    team = {a["id"]: a for a in _ok(await gw.http.get("/api/v1/agents", headers=lea))["items"]}
    assert set(team) == {"ann", "bob", "lea"} and team["ann"]["availability"] == "lunch"
    assert (await gw.http.get("/api/v1/agents", headers=ann)).status_code == 403


async def test_idempotency_key_makes_one_command(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    await _ticket(gw, "E1", t.AssignTicket(agent_id="ann", mode="lead"))
    headers = {**ann, "Idempotency-Key": "note-1"}
    first = _ok(await gw.http.post("/api/v1/tickets/E1/notes", json={"text": "once"}, headers=headers))
    second = _ok(await gw.http.post("/api/v1/tickets/E1/notes", json={"text": "once"}, headers=headers))
    assert first["version"] == second["version"]
    history = _ok(await gw.http.get("/api/v1/tickets/E1", params={"history": True}, headers=ann))["history"]
    assert [h["type"] for h in history].count("NoteAdded") == 1


async def test_slow_ledger_answer_is_202_with_the_command_id(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    await _ticket(gw, "F1", t.AssignTicket(agent_id="ann", mode="lead"))
    commander = gw.app.state.ctx.commander
    commander.wait_seconds = 0.0  # the ledger cannot answer within no time at all
    try:
        resp = await gw.http.post("/api/v1/tickets/F1/notes", json={"text": "later"}, headers=ann)
    finally:
        commander.wait_seconds = gw.settings.action_wait_seconds
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["status"] == "pending" and accepted["ticket_id"] == "F1"
    noted = await gw.events.wait("F1", "NoteAdded")
    assert noted[0].causation_id == accepted["command_id"] and noted[0].actor == "ann"
