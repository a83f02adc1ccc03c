"""Attack replay on the workspace reads (issue 19): a team-A specialist offered a team-B client's ticket (as the
old routing did) must not learn of it through a queue count or a client card, clients get no staff overviews,
and a lead boards only his own teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest_asyncio
from integration.gateway.gateway_support import T0, ids, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk

CLIENT_B = ClientRef(client_id="C-2", client_name="Orbit", service_team_id="B")
QUEUES = ("offers", "mine", "needs_reply", "time_limit", "overdue", "at_risk", "long_ignored", "lost",
          "unidentified", "development")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        content = InboundContent(message_id="m1", channel=Channel.email, external_id="<m1@b>", text="my passport",
                                 sender=Sender(email="client@b.example"), received_at=T0)
        await s.seed([("TB", t.ReceiveMessage(channel=Channel.email, client=CLIENT_B, content=content)),
                      ("TB", t.OfferTicket(agent_ids=["ann", "carol"], line="first", service_team_id="B")),
                      ("TB2", t.OpenTicket(channel=Channel.web, client=CLIENT_B, deadline=T0 - timedelta(hours=1))),
                      ("TB2", t.SetFlag(flag="long_ignored"))])
        yield s


def refused(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_specialists_counts_never_include_a_ticket_he_cannot_open(gw: Desk) -> None:
    ann, carol = gw.token("ann", "specialist"), gw.token("carol", "specialist")
    assert (await gw.http.get("/api/v1/tickets/TB", headers=ann)).status_code == 404
    mine = (await gw.http.get("/api/v1/queues", headers=ann)).json()["counts"]
    theirs = (await gw.http.get("/api/v1/queues", headers=carol)).json()["counts"]
    assert all(n == 0 for n in mine.values()), mine
    # the tickets are there and counted for the team they belong to
    assert theirs["offers"] == 1 and theirs["needs_reply"] == 1 and theirs["long_ignored"] == 1
    assert theirs["overdue"] == 1
    # and each count is what the one opening them may open
    for queue in QUEUES:
        listed = ids(await gw.http.get(f"/api/v1/queues/{queue}", params={"limit": 200}, headers=carol))
        assert theirs[queue] == len(listed)
        for ticket_id in listed:
            assert (await gw.http.get(f"/api/v1/tickets/{ticket_id}", headers=carol)).status_code == 200


async def test_counts_for_someone_else_are_refused_outside_ones_teams(gw: Desk) -> None:
    ann, lea = gw.token("ann", "specialist"), gw.token("lea", "team_lead")
    refused(await gw.http.get("/api/v1/queues", params={"agent_id": "carol"}, headers=ann), 403)
    refused(await gw.http.get("/api/v1/queues", params={"agent_id": "bob"}, headers=ann), 403)
    refused(await gw.http.get("/api/v1/queues", params={"agent_id": "carol"}, headers=lea), 403)
    assert (await gw.http.get("/api/v1/queues", params={"agent_id": "bob"}, headers=lea)).status_code == 200


async def test_a_client_gets_no_counts_board_or_client_card(gw: Desk) -> None:
    own = gw.token("b1", "client", client_id="C-2")
    assert (await gw.http.get("/api/v1/tickets/TB", headers=own)).status_code == 200  # his own ticket
    for path in ("/api/v1/queues", "/api/v1/team/board", "/api/v1/tickets/TB/client"):
        refused(await gw.http.get(path, headers=own), 403)


async def test_the_client_card_of_a_ticket_outside_the_scope_is_not_found(gw: Desk) -> None:
    for who in (gw.token("ann", "specialist"), gw.token("lea", "team_lead")):
        refused(await gw.http.get("/api/v1/tickets/TB/client", headers=who), 404)
        refused(await gw.http.get("/api/v1/tickets/nope/client", headers=who), 404)
    card = (await gw.http.get("/api/v1/tickets/TB/client", headers=gw.token("carol", "specialist"))).json()
    assert card["identified"] is True and [x["id"] for x in card["open_tickets"]] == ["TB2"]


async def test_a_lead_cannot_board_a_team_not_his_and_specialists_cannot_board_at_all(gw: Desk) -> None:
    lea = gw.token("lea", "team_lead")
    refused(await gw.http.get("/api/v1/team/board", params={"team_id": "B"}, headers=lea), 403)
    board = (await gw.http.get("/api/v1/team/board", headers=lea)).json()
    people = {a["id"] for team in board["teams"] for a in team["agents"]}
    tickets = {x["id"] for team in board["teams"] for a in team["agents"] for x in a["tickets"]}
    assert "carol" not in people and "ann" in people and not tickets & {"TB", "TB2"}
    for who in (gw.token("ann", "specialist"), gw.token("carol", "specialist")):
        refused(await gw.http.get("/api/v1/team/board", headers=who), 403)
    # a lead of no team boards nobody rather than everyone
    empty = (await gw.http.get("/api/v1/team/board", headers=gw.token("stranger", "team_lead"))).json()
    assert empty["teams"] == []
