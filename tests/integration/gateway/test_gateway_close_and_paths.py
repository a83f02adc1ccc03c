"""Closing one ticket (scoped and refused as the bulk path is), a parent over an open sub-ticket only with a reason,
and the ``notify-preferences`` directory path with the old one redirecting (real broker, database, ledger)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from gateway_support import stack

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk

TEAM_A = ClientRef(client_id="C-1", service_team_id="A")
NEW, OLD = "/api/v1/admin/directories/notify-preferences", "/api/v1/admin/directories/notify_preferences"


def _resolved(ticket_id: str) -> list[tuple[str, Message]]:
    return [(ticket_id, t.OpenTicket(channel=Channel.web, client=TEAM_A)),
            (ticket_id, t.AssignTicket(agent_id="ann", mode="lead")),
            (ticket_id, t.ResolveTicket(agent_id="ann", problem="no net", solution="reset"))]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def s(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as st:
        await st.seed([*_resolved("K1"), *_resolved("K2"),
                       ("K3", t.OpenTicket(channel=Channel.web, client=TEAM_A)),
                       ("K3", t.AssignTicket(agent_id="ann", mode="lead")), ("K3", t.StartWork(agent_id="ann")),
                       ("K3", t.OpenSubTicket(child_id="K3-dev", opened_by="ann", summary="fix the export")),
                       ("K3", t.ResolveTicket(agent_id="ann", problem="export", solution="workaround"))])
        yield st


async def test_a_specialist_closes_one_resolved_ticket_of_their_team(s: Desk) -> None:
    resp = await s.http.post("/api/v1/tickets/K1/close", json={"reason": "client confirmed"},
                             headers=s.token("ann", "specialist"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "closed"


async def test_close_is_scoped_and_refused_like_the_bulk_path(s: Desk) -> None:
    other_team = await s.http.post("/api/v1/tickets/K2/close", json={}, headers=s.token("carol", "specialist"))
    assert other_team.status_code == 404  # team B's specialist does not learn team A's ticket exists
    assert other_team.headers["content-type"].startswith("application/problem+json")
    client = await s.http.post("/api/v1/tickets/K2/close", json={}, headers=s.token("c1", "client", client_id="C-1"))
    assert client.status_code == 403
    assert (await s.http.post("/api/v1/tickets/K2/close", json={})).status_code == 401
    await s.seed([("K4", t.OpenTicket(channel=Channel.web, client=TEAM_A))])
    refused = await s.http.post("/api/v1/tickets/K4/close", json={}, headers=s.token("ann", "specialist"))
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
    bulk = await s.http.post("/api/v1/tickets/bulk/status", json={"action": "close", "ticket_ids": ["K4"]},
                             headers=s.token("ann", "specialist"))
    assert bulk.json()["results"][0]["code"] == "invalid_state"
    doc = await s.db["tickets"].find_one({"_id": "K2"})
    assert doc is not None and doc["status"] == "resolved"


async def test_a_parent_over_an_open_sub_ticket_closes_only_with_a_reason(s: Desk) -> None:
    ann = s.token("ann", "specialist")
    bare = await s.http.post("/api/v1/tickets/K3/close", json={}, headers=ann)
    assert bare.status_code == 409, bare.text
    assert bare.json()["code"] == "open_sub_tickets" and "K3-dev" in bare.json()["detail"]
    closed = await s.http.post("/api/v1/tickets/K3/close", json={"reason": "client withdrew the request"}, headers=ann)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    history = (await s.http.get("/api/v1/tickets/K3", params={"history": "true"}, headers=ann)).json()["history"]
    entry = next(h for h in history if h["type"] == "TicketClosed")
    assert entry["payload"] == {"reason": "client withdrew the request", "open_sub_tickets": ["K3-dev"],
                                "status_after": "closed"}


async def test_notify_preferences_live_under_the_hyphenated_path(s: Desk) -> None:
    admin = s.token("root", "administrator")
    body = {"id": "ann", "channels": ["email"], "language": "en"}
    put = await s.http.put(f"{NEW}/ann", json=body, headers=admin)
    assert put.status_code == 200, put.text
    assert (await s.http.get(f"{NEW}/ann", headers=admin)).json()["data"]["language"] == "en"
    names = [d["name"] for d in (await s.http.get("/api/v1/admin/directories", headers=admin)).json()]
    assert "notify-preferences" in names and not [n for n in names if "_" in n]
    # what was audited under the old name stays in the directory's change log
    await s.db["dir_audit"].insert_one({"directory": "notify_preferences", "key": "old", "action": "put",
                                        "actor": "before-rename", "at": s.clock.now(), "version": 1})
    audit = (await s.http.get(f"{NEW}/audit", headers=admin)).json()["items"]
    assert {(e["key"], e["actor"]) for e in audit} == {("ann", "root"), ("old", "before-rename")}


async def test_the_old_underscore_path_redirects_for_one_version(s: Desk) -> None:
    admin = s.token("root", "administrator")
    await s.http.put(f"{NEW}/bob", json={"id": "bob"}, headers={**admin, "If-Match": "*"})
    for method, path in (("GET", "/bob"), ("PUT", "/bob"), ("DELETE", "/bob"), ("GET", ""), ("GET", "/audit")):
        resp = await s.http.request(method, f"{OLD}{path}", params={"limit": 5}, headers=admin)
        assert resp.status_code == 308, (method, path, resp.text)
        assert resp.headers["location"] == f"{NEW}{path}?limit=5"
    followed = await s.http.get(f"{OLD}/bob", headers=admin, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["key"] == "bob"
    moved = await s.http.put(f"{OLD}/bob", json={"id": "bob", "language": "ru"}, headers={**admin, "If-Match": "*"},
                             follow_redirects=True)  # 308 keeps the method and the body
    assert moved.status_code == 200 and moved.json()["data"]["language"] == "ru"
    # the redirect is no way around the directory's guard
    assert (await s.http.get(f"{OLD}/bob")).status_code == 401
    assert (await s.http.get(f"{OLD}/bob", headers=s.token("ann", "specialist"))).status_code == 403
    spec = (await s.http.get("/openapi.json")).json()["paths"]
    assert all(op.get("deprecated") is True for op in spec[f"{OLD}/{{key}}"].values())
    assert not any(op.get("deprecated") for op in spec[f"{NEW}/{{key}}"].values())
