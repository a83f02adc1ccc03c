"""Attack replay on the queue screen's cheap reads (issue 19's speed bar): the rows view (``view=rows``) and the
capped counts (``cap``) read less, never more. A team-A specialist offered a team-B client's ticket (as the old
routing did) finds it in no rows and no count at any cap; a cursor is still its holder's alone; a bad view or cap is a
422 problem; clients get no queues in either view."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk

CLIENT_A = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A")
CLIENT_B = ClientRef(client_id="C-2", client_name="Orbit", service_team_id="B")


def _message(n: str, client: ClientRef) -> t.ReceiveMessage:
    content = InboundContent(message_id=n, channel=Channel.email, external_id=f"<{n}@x>", text="my passport",
                             sender=Sender(email=f"{n}@client.example"), received_at=T0)
    return t.ReceiveMessage(channel=Channel.email, client=client, content=content)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.seed([("TB", _message("TB", CLIENT_B)),
                      ("TB", t.OfferTicket(agent_ids=["ann", "carol"], line="first", service_team_id="B")),
                      *[cmd for i in range(3) for cmd in (
                          (f"TA{i}", _message(f"TA{i}", CLIENT_A)),
                          (f"TA{i}", t.OfferTicket(agent_ids=["ann"], line="first", service_team_id="A")))]])
        yield s


def problem(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = resp.json()
    return body


async def test_an_offer_outside_the_team_is_in_no_row_and_no_count_at_any_cap(gw: Desk) -> None:
    ann, carol = gw.token("ann", "specialist"), gw.token("carol", "specialist")
    rows = (await gw.http.get("/api/v1/queues/offers", params={"view": "rows", "limit": 200}, headers=ann)).json()
    assert sorted(i["id"] for i in rows["items"]) == ["TA0", "TA1", "TA2"]
    for cap in (1, 2, 3, 99, 10_000):
        counts = (await gw.http.get("/api/v1/queues", params={"cap": cap}, headers=ann)).json()
        assert counts["counts"]["offers"] == min(3, cap) and counts["counts"]["needs_reply"] == min(3, cap), counts
        assert counts["capped"] == ([] if cap >= 3 else ["offers", "needs_reply"])
    # the ticket is there, for the team it belongs to
    theirs = (await gw.http.get("/api/v1/queues/offers", params={"view": "rows"}, headers=carol)).json()
    assert [i["id"] for i in theirs["items"]] == ["TB"]


async def test_a_rows_cursor_is_its_holders_alone_and_forged_ones_are_refused(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    first = (await gw.http.get("/api/v1/queues/offers", params={"view": "rows", "limit": 1}, headers=ann)).json()
    cursor = first["next_cursor"]
    assert cursor
    for other in (gw.token("bob", "specialist"), gw.token("ann", "team_lead", teams=["A"])):
        problem(await gw.http.get("/api/v1/queues/offers", params={"view": "rows", "cursor": cursor},
                                  headers=other), 400)
    for forged in ('{"$ne": null}', cursor[:-4] + "AAAA", "x" * 5000):
        problem(await gw.http.get("/api/v1/queues/offers", params={"view": "rows", "cursor": forged}, headers=ann), 400)


async def test_bad_views_and_caps_are_problems_and_clients_get_no_queues(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    problem(await gw.http.get("/api/v1/queues/offers", params={"view": "history"}, headers=ann), 422)
    for cap in ("0", "10001", "-1", "many"):
        problem(await gw.http.get("/api/v1/queues", params={"cap": cap}, headers=ann), 422)
    client = gw.token("p1", "client", client_id="C-1")
    problem(await gw.http.get("/api/v1/queues/offers", params={"view": "rows"}, headers=client), 403)
    problem(await gw.http.get("/api/v1/queues", params={"cap": 5}, headers=client), 403)
