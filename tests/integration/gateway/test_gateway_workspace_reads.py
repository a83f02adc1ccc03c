"""The reads the agent workspace needs (queue counts, client card, team board, SLA countdowns) on a real desk:
the ledger, the SLA service and the gateway on the embedded broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from gateway_support import T0, seed_directory

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.directory.contacts import Client, ClientCategory, ContactPerson, Contract
from shared.directory.sla import BusinessCalendar, SlaPolicy, Targets, WorkingHours
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

QUEUES = ("offers", "mine", "needs_reply", "time_limit", "overdue", "at_risk", "long_ignored", "lost",
          "unidentified", "development")
C1_A = ClientRef(client_id="C-1", client_name="Vector", contract_number="K-1", category="premium",
                 service_team_id="A", contact_id="P-1")
C1_B = ClientRef(client_id="C-1", client_name="Vector", service_team_id="B")
OFFICE = BusinessCalendar(id="office", hours=[WorkingHours(weekday=d, start="09:00", end="18:00") for d in range(5)])
POLICY = SlaPolicy(id="premium", categories=["premium"], calendar_id="office",
                   targets=Targets(first_response_seconds=2 * 3600, resolution_seconds=10 * 3600))


def _open(client: ClientRef | None, subject: str) -> t.OpenTicket:
    return t.OpenTicket(channel=Channel.web, client=client, subject=subject, sender=Sender(email="anna@vector.example"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    """W1 offered to ann and bob, W2 ann's in work, W3 the same client's on team B, W4 resolved, W5 unidentified,
    W6 another client's (team B, carol's)."""
    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["sla", "gateway"], front="gateway", base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 5.0}}) as d:
        await seed_directory(d.db)
        await d.put(ClientCategory(id="premium", name={"ru": "Премиум", "en": "Premium"}, rank=30),
                    Client(id="C-1", name="Vector", category="premium", service_team_id="A"),
                    Client(id="C-2", name="Orbit", service_team_id="B"),
                    Contract(number="K-1", client_id="C-1", product="fiber-100"),
                    ContactPerson(id="P-1", client_id="C-1", name="Anna Petrova", emails=["anna@vector.example"]),
                    OFFICE, POLICY)
        await d.seed([
            ("W1", _open(C1_A, "Printer")), ("W1", t.OfferTicket(agent_ids=["ann", "bob"], line="first")),
            ("W2", _open(C1_A, "No internet")), ("W2", t.AssignTicket(agent_id="ann", mode="lead")),
            ("W2", t.StartWork(agent_id="ann")),
            ("W3", _open(C1_B, "Team B's")),
            ("W4", _open(C1_A, "Old one")), ("W4", t.AssignTicket(agent_id="bob", mode="lead")),
            ("W4", t.ResolveTicket(agent_id="bob", problem="p", solution="s")),
            ("W5", _open(None, "Who am I")),
            ("W6", _open(ClientRef(client_id="C-2", service_team_id="B"), "Orbit")),
            ("W6", t.AssignTicket(agent_id="carol", mode="lead")),
        ])
        yield d


async def _get(d: Desk, path: str, who: tuple[str, str], **params: Any) -> Any:
    resp = await d.http.get(path, params=params, headers=d.token(*who, **({"client_id": "C-1"} if who[1] == "client"
                                                                              else {})))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_each_count_is_the_length_of_its_queue_page(desk: Desk) -> None:
    for who, params in ((("ann", "specialist"), {}), (("carol", "specialist"), {}), (("lea", "team_lead"), {}),
                        (("lea", "team_lead"), {"agent_id": "bob"}), (("root", "administrator"), {})):
        body = await _get(desk, "/api/v1/queues", who, **params)
        assert set(body["counts"]) == set(QUEUES) and body["agent_id"] == params.get("agent_id", who[0])
        for queue in QUEUES:
            page = await _get(desk, f"/api/v1/queues/{queue}", who, limit=200, **params)
            assert body["counts"][queue] == len(page["items"]), (who, params, queue)
    ann = await _get(desk, "/api/v1/queues", ("ann", "specialist"))
    assert ann["counts"]["offers"] == 1 and ann["counts"]["mine"] == 1
    admin = await _get(desk, "/api/v1/queues", ("root", "administrator"))
    assert admin["counts"]["unidentified"] == 1


async def test_the_client_card_shows_the_client_and_only_tickets_the_caller_may_see(desk: Desk) -> None:
    card = await _get(desk, "/api/v1/tickets/W2/client", ("ann", "specialist"))
    assert card["identified"] is True
    assert card["client"] == {"id": "C-1", "name": "Vector", "active": True}
    assert card["contract"] == {"number": "K-1", "product": "fiber-100", "active": True}
    assert card["category"] == {"id": "premium", "name": {"ru": "Премиум", "en": "Premium"}}
    assert card["service_team"] == {"id": "A", "name": "Team A"}
    assert card["contact"]["id"] == "P-1" and card["contact"]["name"] == "Anna Petrova"
    assert [x["id"] for x in card["open_tickets"]] == ["W1"]  # not W2 itself, not team B's W3, not resolved W4
    assert {x["id"] for x in card["recent_tickets"]} == {"W1", "W4"}
    assert {"number", "subject", "status", "created_at"} <= set(card["recent_tickets"][0])
    admin = await _get(desk, "/api/v1/tickets/W2/client", ("root", "administrator"))
    assert {x["id"] for x in admin["open_tickets"]} == {"W1", "W3"}
    unknown = await _get(desk, "/api/v1/tickets/W5/client", ("root", "administrator"))
    assert unknown["identified"] is False and unknown["client"] is None and unknown["open_tickets"] == []


async def test_a_lead_sees_his_team_on_the_board_with_load_and_tickets(desk: Desk) -> None:
    board = await _get(desk, "/api/v1/team/board", ("lea", "team_lead"))
    assert [team["id"] for team in board["teams"]] == ["A"]
    agents = {a["id"]: a for a in board["teams"][0]["agents"]}
    assert set(agents) == {"ann", "bob", "lea"}
    assert agents["ann"]["availability"] == "online"
    assert agents["ann"]["load"] == {"assigned": 0, "working": 1}
    assert [(x["id"], x["status"], x["subject"]) for x in agents["ann"]["tickets"]] == [
        ("W2", "in_progress", "No internet")]
    assert agents["bob"]["load"] == {"assigned": 0, "working": 0} and agents["bob"]["tickets"] == []
    admin = await _get(desk, "/api/v1/team/board", ("root", "administrator"))
    assert [team["id"] for team in admin["teams"]] == ["A", "B"]
    only_b = await _get(desk, "/api/v1/team/board", ("root", "administrator"), team_id="B")
    carol = only_b["teams"][0]["agents"][0]
    assert carol["id"] == "carol" and carol["load"] == {"assigned": 1, "working": 0}
    assert [x["id"] for x in carol["tickets"]] == ["W6"]


async def test_the_ticket_view_gives_each_sla_target_its_business_time_due_instant(desk: Desk) -> None:
    async def sla() -> dict[str, Any] | None:
        view = await _get(desk, "/api/v1/tickets/W2", ("ann", "specialist"))
        return view["sla"] if view.get("sla") and view["sla"]["policy_id"] == "premium" else None
    clock = await eventually(sla, message="the SLA service's clock for W2")
    resolution = clock["targets"]["resolution"]
    # opened Monday 10:00 on a 9-18 calendar: 8 business hours on Monday, the other 2 on Tuesday morning
    assert datetime.fromisoformat(resolution["due_at"]) == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert datetime.fromisoformat(clock["targets"]["first_response"]["due_at"]) == T0 + timedelta(hours=2)
    assert resolution["running"] is True and resolution["paused_seconds_left"] is None
    assert resolution["warned"] is False and resolution["breached"] is False and resolution["met"] is None
    assert "outbox" not in clock and "applied" not in clock
    client = await _get(desk, "/api/v1/tickets/W2", ("c1", "client"))
    assert client.get("sla") is None
    assert isinstance(desk.clock, ManualClock)
    desk.clock.advance(timedelta(hours=1))
    await desk.seed([("W2", t.PutOnHold(reason="waiting for the engineer"))])

    async def paused() -> dict[str, Any] | None:
        target = (await sla() or {}).get("targets", {}).get("resolution")
        return target if target and not target["running"] else None
    frozen = await eventually(paused, message="W2's resolution clock paused")
    assert frozen["due_at"] is None and frozen["paused_seconds_left"] == 9 * 3600
