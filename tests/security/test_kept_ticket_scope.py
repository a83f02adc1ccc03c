"""An action decides on the event hub's kept copy of the ticket instead of reading the ledger (ledger/hub.py
``kept_ticket``). The copy must never grant what the ledger's latest event the gateway has seen took away: a ticket
of another team stays a 404, a ticket reassigned away is a 404 to its former assignee at once, and a removed team
membership takes the team's tickets away although they are kept."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.routing import ServiceTeam, TeamMember
from tests.support.desk import Desk
from tests.support.testing import eventually


def message(mid: str) -> InboundContent:
    return InboundContent(message_id=mid, channel=Channel.email, external_id=f"<{mid}@x>", text="help",
                          sender=Sender(email=f"{mid}@client.example"), received_at=T0)


@pytest_asyncio.fixture(loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        yield s


def kept(gw: Desk, ticket_id: str) -> dict[str, object] | None:
    doc: dict[str, object] | None = gw.app.state.ctx.hub.kept_ticket(ticket_id)
    return doc


async def kept_soon(gw: Desk, ticket_id: str) -> dict[str, object]:
    """The hub keeps its copy read just after writing the copy the desk's helpers wait for."""
    doc: dict[str, object] = await eventually(lambda: kept(gw, ticket_id), message=f"the hub keeps {ticket_id}")
    return doc


async def test_a_kept_ticket_of_another_team_is_still_not_found(gw: Desk) -> None:
    await gw.seed([("TB", t.ReceiveMessage(channel=Channel.email, content=message("b1"),
                                           client=ClientRef(client_id="C-2", service_team_id="B"))),
                   ("TB", t.OfferTicket(agent_ids=["ann", "carol"], line="first", service_team_id="B"))])
    assert (await kept_soon(gw, "TB"))["status"] == "offered", "the hub keeps what it copied"
    for path, body in (("claim", None), ("start", None), ("reply", {"text": "hi"}), ("notes", {"text": "x"})):
        resp = await gw.http.post(f"/api/v1/tickets/TB/{path}", json=body, headers=gw.token("ann", "specialist"))
        assert resp.status_code == 404, (path, resp.text)
    history = (await gw.db.tickets.find_one({"_id": "TB"}))["history"]
    assert not [h for h in history if h["actor"] == "ann"], "nothing of ann's reached the ledger"


async def test_a_ticket_reassigned_away_is_not_found_at_once_by_its_former_assignee(gw: Desk) -> None:
    # no team: ann sees it only as its assignee (her line is first, the ticket's second)
    await gw.seed([("TR", t.ReceiveMessage(channel=Channel.email, content=message("r1"))),
                   ("TR", t.OfferTicket(agent_ids=["ann"], line="second")),
                   ("TR", t.AssignTicket(agent_id="ann", mode="claim"))])
    ann, admin = gw.token("ann", "specialist"), gw.token("root", "administrator")
    assert (await gw.http.post("/api/v1/tickets/TR/notes", json={"text": "mine"}, headers=ann)).status_code == 200
    assert (await kept_soon(gw, "TR"))["assignee_id"] == "ann"
    moved = await gw.http.post("/api/v1/tickets/TR/reassign", json={"agent_id": "carol", "reason": "away"},
                               headers=admin)
    assert moved.status_code == 200 and moved.json()["assignee_id"] == "carol", moved.text
    # the answer came after the hub copied the reassignment: the kept copy already says carol
    assert (doc := kept(gw, "TR")) is not None and doc["assignee_id"] == "carol"
    for path, body in (("start", None), ("reply", {"text": "still mine?"}), ("resolve", {"problem": "p",
                                                                                        "solution": "s"})):
        resp = await gw.http.post(f"/api/v1/tickets/TR/{path}", json=body, headers=ann)
        assert resp.status_code == 404, (path, resp.text)
    assert (await gw.ticket("TR"))["status"] == "assigned"


async def team_b(gw: Desk, *members: str) -> None:
    admin = gw.token("root", "administrator")
    etag = (await gw.http.get("/api/v1/admin/directories/teams/B", headers=admin)).headers["ETag"]
    team = ServiceTeam(id="B", name="Team B", members=[TeamMember(agent_id=m) for m in members])
    put = await gw.http.put("/api/v1/admin/directories/teams/B", json=team.model_dump(mode="json"),
                            headers={**admin, "If-Match": etag})
    assert put.status_code == 200, put.text


async def test_a_removed_membership_takes_a_kept_teams_ticket_away(gw: Desk) -> None:
    await gw.seed([("TM", t.ReceiveMessage(channel=Channel.email, content=message("m1"),
                                           client=ClientRef(client_id="C-2", service_team_id="B"))),
                   ("TM", t.OfferTicket(agent_ids=["carol"], line="first", service_team_id="B"))])
    dana = gw.token("dana", "specialist")
    await team_b(gw, "carol", "dana")
    noted = await gw.http.post("/api/v1/tickets/TM/notes", json={"text": "looking"}, headers=dana)
    assert noted.status_code == 200, noted.text  # a member of team B by the team's entry
    await kept_soon(gw, "TM")
    await team_b(gw, "carol")  # through this gateway's admin API, as an administrator changes it
    again = await gw.http.post("/api/v1/tickets/TM/notes", json={"text": "still here?"}, headers=dana)
    assert again.status_code == 404, again.text
    notes = [h for h in (await gw.db.tickets.find_one({"_id": "TM"}))["history"] if h["type"] == "NoteAdded"]
    assert len(notes) == 1
