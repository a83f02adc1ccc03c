"""Each work queue returns exactly the tickets of a seeded scenario (real broker, database and ledger)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from gateway_support import T0, ids, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk

TEAM_A = ClientRef(client_id="C-1", service_team_id="A")


def _open(**kw: object) -> t.OpenTicket:
    return t.OpenTicket(channel=Channel.web, client=kw.pop("client", TEAM_A), **kw)  # type: ignore[arg-type]


def _msg(n: str) -> t.ReceiveMessage:
    content = InboundContent(message_id=n, channel=Channel.email, external_id=f"<{n}@x>", text="help",
                             sender=Sender(email="c@x.org"), received_at=T0)
    return t.ReceiveMessage(channel=Channel.email, client=TEAM_A, content=content)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        now = s.clock.now()
        await s.seed([
            ("Q1", _open()), ("Q1", t.OfferTicket(agent_ids=["ann", "bob"], line="first")),
            ("Q2", _open()), ("Q2", t.OfferTicket(agent_ids=["bob"], line="first")),
            ("Q3", _open()), ("Q3", t.OfferTicket(agent_ids=["ann"], line="first")),
            ("Q3", t.AssignTicket(agent_id="ann", mode="auto")),
            ("Q4", _open()), ("Q4", t.AssignTicket(agent_id="ann", mode="lead")), ("Q4", t.StartWork(agent_id="ann")),
            ("Q4", t.SetFlag(flag="long_ignored")),
            ("Q4", t.ResolveTicket(agent_id="ann", problem="p", solution="s")),
            ("Q5", _msg("Q5")),
            ("Q6", _msg("Q6")), ("Q6", t.AssignTicket(agent_id="bob", mode="lead")),
            ("Q6", t.ReplyToClient(agent_id="bob", text="on it")),
            ("Q7", _open(deadline=now + timedelta(minutes=30))),
            ("Q8", _open(deadline=now + timedelta(hours=5))),
            ("Q9", _open(deadline=now - timedelta(hours=1))),
            ("Q10", _open()), ("Q10", t.SetFlag(flag="sla_breached")),
            ("Q11", _open()), ("Q11", t.SetFlag(flag="long_ignored")),
            ("Q12", _open()), ("Q12", t.AssignTicket(agent_id="carol", mode="lead")), ("Q12", t.SetFlag(flag="lost")),
            ("Q13", _open(client=None)),
            ("Q3", t.OpenSubTicket(child_id="Q3-dev", opened_by="ann", summary="fix export")),
        ])
        await s.seed([("Q3-dev", t.AddNote(author_id="x", text="child exists"))])
        yield s


ADMIN = ("root", "administrator")


@pytest.mark.parametrize(("queue", "params", "expected"), [
    ("offers", {"agent_id": "ann"}, {"Q1"}),
    ("offers", {"agent_id": "bob"}, {"Q1", "Q2"}),
    ("mine", {"agent_id": "ann"}, {"Q3"}),
    ("mine", {"agent_id": "bob"}, {"Q6"}),
    ("needs_reply", {}, {"Q5"}),
    ("time_limit", {}, {"Q7"}),
    ("time_limit", {"window_minutes": 600}, {"Q7", "Q8"}),
    ("overdue", {}, {"Q9", "Q10"}),
    ("long_ignored", {}, {"Q11"}),
    ("lost", {}, {"Q12"}),
    ("unidentified", {}, {"Q13"}),
    ("development", {}, {"Q3-dev"}),
])
async def test_queue_returns_exactly_its_tickets(seeded: Desk, queue: str, params: dict[str, object],
                                                 expected: set[str]) -> None:
    resp = await seeded.http.get(f"/api/v1/queues/{queue}", params=params, headers=seeded.token(*ADMIN))
    assert ids(resp) == expected


async def test_queues_are_scoped_and_offers_default_to_me(seeded: Desk) -> None:
    ann = seeded.token("ann", "specialist")
    assert ids(await seeded.http.get("/api/v1/queues/offers", headers=ann)) == {"Q1"}
    assert ids(await seeded.http.get("/api/v1/queues/mine", headers=ann)) == {"Q3"}
    # carol (team B) sees the lost ticket she holds, none of team A's needs-reply tickets
    carol = seeded.token("carol", "specialist")
    assert ids(await seeded.http.get("/api/v1/queues/lost", headers=carol)) == {"Q12"}
    assert ids(await seeded.http.get("/api/v1/queues/needs_reply", headers=carol)) == set()
    # a specialist cannot look into someone else's queue; a lead can for their team only
    assert (await seeded.http.get("/api/v1/queues/mine", params={"agent_id": "bob"}, headers=ann)).status_code == 403
    lea = seeded.token("lea", "team_lead")
    assert ids(await seeded.http.get("/api/v1/queues/mine", params={"agent_id": "bob"}, headers=lea)) == {"Q6"}
    resp = await seeded.http.get("/api/v1/queues/mine", params={"agent_id": "carol"}, headers=lea)
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("application/problem+json")
    client = seeded.token("c1", "client", client_id="C-1")
    assert (await seeded.http.get("/api/v1/queues/offers", headers=client)).status_code == 403


async def test_cursor_pagination_walks_every_ticket_once(seeded: Desk) -> None:
    admin = seeded.token(*ADMIN)
    everything = ids(await seeded.http.get("/api/v1/tickets", params={"limit": 200}, headers=admin))
    assert len(everything) == 14
    for sort, order in (("created_at", -1), ("number", 1), ("updated_at", 1)):
        seen: list[str] = []
        numbers: list[int] = []
        cursor: str | None = None
        while True:
            params: dict[str, object] = {"limit": 4, "sort": sort, "order": order}
            if cursor:
                params["cursor"] = cursor
            body = (await seeded.http.get("/api/v1/tickets", params=params, headers=admin)).json()
            seen += [i["id"] for i in body["items"]]
            numbers += [i["number"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 14 and set(seen) == everything
        if sort == "number":
            assert numbers == sorted(numbers)
    bad = await seeded.http.get("/api/v1/tickets", params={"cursor": "garbage"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["title"] == "Bad cursor or sort"
    wrong_sort = await seeded.http.get("/api/v1/queues/offers", params={"sort": "deadline"}, headers=admin)
    assert wrong_sort.status_code == 400
    too_big = await seeded.http.get("/api/v1/tickets", params={"limit": 10_000}, headers=admin)
    assert too_big.status_code == 422


async def test_time_limit_sorted_by_deadline_and_filters_combine(seeded: Desk) -> None:
    admin = seeded.token(*ADMIN)
    body = (await seeded.http.get("/api/v1/queues/time_limit", params={"window_minutes": 600},
                                  headers=admin)).json()
    assert [i["id"] for i in body["items"]] == ["Q7", "Q8"]
    assert ids(await seeded.http.get("/api/v1/queues/overdue", params={"status": "new"}, headers=admin)) == {"Q9",
                                                                                                          "Q10"}
    assert ids(await seeded.http.get("/api/v1/queues/overdue", params={"status": "offered"}, headers=admin)) == set()
    assert ids(await seeded.http.get("/api/v1/tickets", params={"assignee_id": "ann"}, headers=admin)) == {"Q3", "Q4"}
