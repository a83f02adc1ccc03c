"""Attack replay (issue 22): macros. A personal macro is its owner's alone (another agent, even an administrator,
gets 404 reading, changing, deleting or applying it); only administrators write shared ones; a macro applied to a
ticket outside the caller's scope is a 404 and nothing reaches the ledger; template escapes are refused when saved,
and a client's words in a ticket are data, never a template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from integration.gateway.gateway_support import T0, seed_directory

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clock import ManualClock
from tests.support.attacks import TEMPLATE_ESCAPES
from tests.support.desk import Desk, running_desk
from tests.support.testing import isolated_env

HOSTILE_SUBJECT = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
SHARED = {"name": "Ask for logs", "scope": "shared", "reply": {"en": "Please send the logs."},
          "actions": {"add_tags": ["waiting-logs"]}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    """TA: team A's, assigned to ann, its subject a template escape written by the client."""
    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["gateway"], front="gateway", base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 10.0}}, taps=[TICKETS_COMMANDS],
                            before=seed_directory) as d:
        await d.seed([("TA", t.OpenTicket(channel=Channel.web, client=ClientRef(client_id="C-1", service_team_id="A"),
                                          line="first", subject=HOSTILE_SUBJECT)),
                      ("TA", t.AssignTicket(agent_id="ann", mode="lead"))])
        yield d


def ann(d: Desk) -> dict[str, str]:
    return d.token("ann", "specialist", lines=["first"], teams=["A"])


def admin(d: Desk) -> dict[str, str]:
    return d.token("root", "administrator")


async def created(d: Desk, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    resp = await d.http.post("/api/v1/macros", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def sent_by(d: Desk, user: str) -> list[Any]:
    return [e for e in d.taps[TICKETS_COMMANDS.name].items if e.actor == user]


async def test_another_agents_personal_macro_is_not_found_to_read_change_delete_or_apply(gw: Desk) -> None:
    mine = await created(gw, {"name": "Mine", "reply": {"en": "Hi"}}, ann(gw))
    stored = await gw.db["gateway_macros"].find_one({"_id": mine["id"]})
    bob = gw.token("bob", "specialist", lines=["first"], teams=["A"])
    for who in (bob, gw.token("lea", "team_lead", teams=["A"]), admin(gw)):
        listed = await gw.http.get("/api/v1/macros", headers=who)
        assert listed.status_code == 200 and mine["id"] not in {m["id"] for m in listed.json()}
        for method, path, body in (("GET", "", None), ("PUT", "", {"name": "Stolen", "reply": {"en": "x"}}),
                                   ("DELETE", "", None)):
            resp = await gw.http.request(method, f"/api/v1/macros/{mine['id']}{path}", json=body, headers=who)
            assert resp.status_code == 404, (method, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
        resp = await gw.http.post(f"/api/v1/tickets/TA/macros/{mine['id']}/apply", headers=who)
        assert resp.status_code == 404, resp.text
    assert await gw.db["gateway_macros"].find_one({"_id": mine["id"]}) == stored
    assert not sent_by(gw, "bob") and not sent_by(gw, "lea") and not sent_by(gw, "root")


async def test_only_administrators_write_shared_macros(gw: Desk) -> None:
    shared = await created(gw, SHARED, admin(gw))
    for who in (ann(gw), gw.token("lea", "team_lead", teams=["A"])):
        assert (await gw.http.post("/api/v1/macros", json=SHARED, headers=who)).status_code == 403
        seen = await gw.http.get(f"/api/v1/macros/{shared['id']}", headers=who)
        assert seen.status_code == 200  # staff use shared macros ...
        for method, body in (("PUT", {**SHARED, "name": "Changed"}), ("DELETE", None)):  # ... and cannot change them
            resp = await gw.http.request(method, f"/api/v1/macros/{shared['id']}", json=body, headers=who)
            assert resp.status_code == 403, (method, resp.text)
    own = await created(gw, {"name": "Own", "reply": {"en": "Hi"}}, ann(gw))
    promoted = await gw.http.put(f"/api/v1/macros/{own['id']}", json={**SHARED, "name": "Own"}, headers=ann(gw))
    assert promoted.status_code == 422, promoted.text  # a personal macro never becomes a shared one
    client = gw.token("u1", "client", client_id="C-1")
    assert (await gw.http.get("/api/v1/macros", headers=client)).status_code == 403
    assert (await gw.http.post("/api/v1/macros", json={"name": "x", "reply": {"en": "x"}},
                               headers=client)).status_code == 403
    assert (await gw.http.post(f"/api/v1/tickets/TA/macros/{shared['id']}/apply", headers=client)).status_code == 403
    assert await gw.db["gateway_macros"].count_documents({"scope": "shared"}) == 1
    assert (await gw.db["gateway_macros"].find_one({"_id": shared["id"]}))["version"] == 1


async def test_a_macro_on_a_ticket_outside_the_scope_is_404_and_the_ledger_hears_nothing(gw: Desk) -> None:
    shared = await created(gw, {**SHARED, "name": "Everyone's"}, admin(gw))
    second_only = await created(gw, {**SHARED, "name": "Second line", "line_ids": ["second"]}, admin(gw))
    carol = gw.token("carol", "specialist", lines=["first"], teams=["B"])
    resp = await gw.http.post(f"/api/v1/tickets/TA/macros/{shared['id']}/apply", headers=carol)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert second_only["id"] not in {m["id"] for m in (await gw.http.get("/api/v1/macros", headers=ann(gw))).json()}
    resp = await gw.http.post(f"/api/v1/tickets/TA/macros/{second_only['id']}/apply", headers=ann(gw))
    assert resp.status_code == 404, resp.text  # a shared macro of other lines is not offered to him
    assert not sent_by(gw, "carol") and not sent_by(gw, "ann")
    assert await gw.db["gateway_macro_uses"].count_documents({}) == 0


@pytest.mark.parametrize("payload", [*TEMPLATE_ESCAPES, "{{ password }}", "{% include '/etc/passwd' %}"])
async def test_template_escapes_are_refused_when_saved(gw: Desk, payload: str) -> None:
    before = await gw.db["gateway_macros"].count_documents({})
    for body in ({"name": "x", "reply": {"ru": payload}},
                 {"name": "x", "actions": {"resolve": {"problem": payload, "solution": "done"}}}):
        resp = await gw.http.post("/api/v1/macros", json=body, headers=admin(gw))
        assert resp.status_code == 422, (payload, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert await gw.db["gateway_macros"].count_documents({}) == before


async def test_a_clients_words_are_data_never_a_template(gw: Desk) -> None:
    quoting = await created(gw, {"name": "Quote", "reply": {"en": "About: {{ subject }}"}}, ann(gw))
    resp = await gw.http.post(f"/api/v1/tickets/TA/macros/{quoting['id']}/apply", headers=ann(gw))
    assert resp.status_code == 200, resp.text
    reply = (await gw.wait("TA", "ReplySent"))[0]
    assert reply.payload["text"] == f"About: {HOSTILE_SUBJECT}"  # printed as written, never evaluated
