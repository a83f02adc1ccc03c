"""Macros on a real desk (ledger and gateway on the real broker and database): a shared macro replies in the
client's language, tags the ticket and puts it on hold with exactly the commands the individual actions send; a
retry with the same Idempotency-Key changes nothing; a resolve macro resolves with both fields; the macros report
counts each application once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from integration.gateway.gateway_support import T0, seed_directory

from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

ACME = ClientRef(client_id="C-1", client_name="ACME", service_team_id="A")
WAITING = {"name": "Waiting for logs", "scope": "shared", "line_ids": ["first"],
           "reply": {"ru": "Здравствуйте, {{ client_name }}! Пришлите журналы.",
                     "en": "Hello {{ client_name }}, please send the logs."},
           "actions": {"add_tags": ["waiting-logs"], "hold": {"reason": "waiting for the logs"}}}
FIXED = {"name": "Fixed", "reply": {"en": "Fixed: {{ subject }}."},
         "actions": {"resolve": {"problem": "{{ subject }}", "solution": "Port restarted"}}}
PERIOD = {"period_start": (T0 - timedelta(hours=1)).isoformat(), "period_end": (T0 + timedelta(days=1)).isoformat()}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    """M1, M2 (Russian) and M3 (English): team A's, assigned to ann."""
    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["gateway"], front="gateway", base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 10.0}}, taps=[TICKETS_COMMANDS],
                            before=seed_directory) as d:
        opened = [(tid, t.OpenTicket(channel=Channel.web, client=ACME, line="first", subject=subject))
                  for tid, subject in (("M1", "Нет связи"), ("M2", "Нет связи"), ("M3", "No connection"))]
        await d.seed([*opened, *[(tid, t.AssignTicket(agent_id="ann", mode="lead")) for tid in ("M1", "M2", "M3")]])
        yield d


def ann(d: Desk) -> dict[str, str]:
    return d.token("ann", "specialist", lines=["first"], teams=["A"])


async def create(d: Desk, body: dict[str, Any], headers: dict[str, str]) -> str:
    resp = await d.http.post("/api/v1/macros", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def commands(d: Desk, ticket_id: str) -> list[Envelope]:
    return [e for e in d.taps[TICKETS_COMMANDS.name].items if e.ticket_id == ticket_id and e.actor == "ann"]


async def test_a_shared_macro_replies_tags_and_holds_with_the_individual_actions_commands(desk: Desk) -> None:
    macro_id = await create(desk, WAITING, desk.token("root", "administrator"))
    listed = await desk.http.get("/api/v1/macros", headers=ann(desk))
    assert [m["id"] for m in listed.json()] == [macro_id]

    resp = await desk.http.post(f"/api/v1/tickets/M1/macros/{macro_id}/apply", headers={**ann(desk),
                                                                                        "Idempotency-Key": "k-1"})
    assert resp.status_code == 200, resp.text
    applied = resp.json()
    assert applied["language"] == "ru" and applied["outcome"] == "done"
    assert [(s["step"], s["outcome"]) for s in applied["steps"]] == [("reply", "done"), ("tags", "done"),
                                                                     ("hold", "done")]
    assert applied["ticket"]["status"] == "waiting_customer" and applied["ticket"]["tags"] == ["waiting-logs"]
    replies = await desk.wait("M1", "ReplySent")
    assert replies[0].payload["text"] == "Здравствуйте, ACME! Пришлите журналы."

    # The same three actions one by one on M2 send the same commands.
    for path, body in (("reply", {"text": "Здравствуйте, ACME! Пришлите журналы."}),
                       ("tags", {"add": ["waiting-logs"]}), ("hold", {"reason": "waiting for the logs"})):
        one = await desk.http.post(f"/api/v1/tickets/M2/{path}", json=body, headers=ann(desk))
        assert one.status_code == 200, one.text
    await eventually(lambda: len(commands(desk, "M1")) == len(commands(desk, "M2")) == 3, message="commands seen")
    assert [(e.type, e.payload) for e in commands(desk, "M1")] == [(e.type, e.payload) for e in commands(desk, "M2")]
    assert [e.id for e in commands(desk, "M1")] == [s["command_id"] for s in applied["steps"]]

    # A retry with the same key is the same commands: nothing happens twice.
    again = await desk.http.post(f"/api/v1/tickets/M1/macros/{macro_id}/apply", headers={**ann(desk),
                                                                                         "Idempotency-Key": "k-1"})
    assert again.status_code == 200, again.text
    assert [s["command_id"] for s in again.json()["steps"]] == [s["command_id"] for s in applied["steps"]]
    for kind in ("ReplySent", "TagsChanged", "TicketPutOnHold"):  # the ledger answers a redelivery with the same events
        assert len({e.id for e in await desk.wait("M1", kind)}) == 1, kind
    history = (await desk.db["tickets"].find_one({"_id": "M1"}))["history"]
    assert [h["type"] for h in history].count("ReplySent") == 1


async def test_a_resolve_macro_resolves_with_both_fields(desk: Desk) -> None:
    macro_id = await create(desk, FIXED, ann(desk))
    resp = await desk.http.post(f"/api/v1/tickets/M3/macros/{macro_id}/apply", headers=ann(desk))
    assert resp.status_code == 200, resp.text
    assert [s["step"] for s in resp.json()["steps"]] == ["reply", "resolve"]
    doc = await desk.ticket("M3")
    assert doc["status"] == "resolved"
    assert (doc["resolution"]["problem"], doc["resolution"]["solution"]) == ("No connection", "Port restarted")
    assert (await desk.wait("M3", "ReplySent"))[0].payload["text"] == "Fixed: No connection."


async def test_a_refusal_stops_the_macro_and_says_why(desk: Desk) -> None:
    macro_id = await create(desk, {"name": "Hold", "actions": {"add_tags": ["x"], "hold": {}}}, ann(desk))
    resp = await desk.http.post(f"/api/v1/tickets/M3/macros/{macro_id}/apply", headers=ann(desk))  # resolved
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert "hold" in problem["detail"] and [s["outcome"] for s in problem["steps"]] == ["done", "rejected"]


async def test_uses_are_counted_per_macro_agent_and_day_in_the_report(desk: Desk) -> None:
    lead = desk.token("lea", "team_lead", teams=["A"])
    resp = await desk.http.get("/api/v1/reports/macros", params=PERIOD, headers=lead)
    assert resp.status_code == 200, resp.text
    rows = {(r["macro_name"], r["agent_id"], r["day"]): r for r in resp.json()["rows"]}
    assert rows[("Waiting for logs", "ann", "2026-03-02")]["uses"] == 1  # the retry counted once
    assert rows[("Fixed", "ann", "2026-03-02")]["uses"] == 1
    assert rows[("Fixed", "ann", "2026-03-02")]["completed"] == 1
    assert rows[("Hold", "ann", "2026-03-02")]["completed"] == 0
    ru = await desk.http.get("/api/v1/reports/macros", params={**PERIOD, "format": "csv", "lang": "ru"}, headers=lead)
    assert ru.status_code == 200 and "Макрос" in ru.content.decode("utf-8-sig")


async def test_a_change_names_the_version_it_replaces(desk: Desk) -> None:
    macro_id = await create(desk, {"name": "Draft", "reply": {"en": "v1"}}, ann(desk))
    changed = await desk.http.put(f"/api/v1/macros/{macro_id}", json={"name": "Draft", "reply": {"en": "v2"}},
                                  headers={**ann(desk), "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.headers["etag"] == '"2"'
    stale = await desk.http.put(f"/api/v1/macros/{macro_id}", json={"name": "Draft", "reply": {"en": "v3"}},
                                headers={**ann(desk), "If-Match": '"1"'})
    assert stale.status_code == 409, stale.text
    assert (await desk.http.delete(f"/api/v1/macros/{macro_id}", headers={**ann(desk), "If-Match": '"1"'})
            ).status_code == 409
    kept = await desk.http.get(f"/api/v1/macros/{macro_id}", headers=ann(desk))
    assert kept.json()["reply"] == {"ru": None, "en": "v2"}
    assert (await desk.http.delete(f"/api/v1/macros/{macro_id}", headers=ann(desk))).status_code == 204
    assert (await desk.http.get(f"/api/v1/macros/{macro_id}", headers=ann(desk))).status_code == 404
