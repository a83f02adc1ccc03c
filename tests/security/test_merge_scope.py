"""Attack replay (issue 22, merge): merging is a way to move one client's conversation into another's ticket, so it
must not be one. A specialist cannot merge across clients (confirming is a lead's), a lead must confirm it in
words, a ticket outside the caller's scope is a 404 as source and as target with nothing reaching the ledger, and a
merge replayed with the same command id moves nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk
from tests.support.testing import eventually

OURS, THEIRS, ELSEWHERE = (ClientRef(client_id="C-1", service_team_id="A"), ClientRef(client_id="C-2",
                           service_team_id="A"), ClientRef(client_id="C-3", service_team_id="B"))


def opened(tid: str, client: ClientRef) -> tuple[str, t.ReceiveMessage]:
    content = InboundContent(message_id=f"m-{tid}", channel=Channel.email, external_id=f"<{tid}@x>",
                             text=f"text of {tid}", sender=Sender(email=f"{tid.lower()}@x.example"), received_at=T0)
    return tid, t.ReceiveMessage(channel=Channel.email, client=client, content=content)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.seed([opened("A1", OURS), opened("A2", OURS), opened("A3", OURS), opened("X1", THEIRS),
                      opened("X2", THEIRS), opened("TB", ELSEWHERE)])
        yield s


async def history(gw: Desk, ticket_id: str) -> list[dict[str, Any]]:
    doc = await gw.db.tickets.find_one({"_id": ticket_id})
    return list(doc["history"])


async def untouched(gw: Desk, *ticket_ids: str) -> None:
    for tid in ticket_ids:
        assert [h["type"] for h in await history(gw, tid)] == ["TicketOpened", "MessageReceived"], tid


async def test_across_clients_a_specialist_is_refused_and_a_lead_must_confirm(gw: Desk) -> None:
    ann, lea = gw.token("ann", "specialist"), gw.token("lea", "team_lead")
    plain = await gw.http.post("/api/v1/tickets/X1/merge", headers=ann, json={"target_id": "A1"})
    assert plain.status_code == 409 and plain.json()["code"] == "cross_client", plain.text
    assert "not of the same client" in plain.json()["detail"]
    confirmed = await gw.http.post("/api/v1/tickets/X1/merge", headers=ann,
                                   json={"target_id": "A1", "confirm_cross_client": True})
    assert confirmed.status_code == 403 and "team lead" in confirmed.json()["detail"], confirmed.text
    unconfirmed = await gw.http.post("/api/v1/tickets/X1/merge", headers=lea, json={"target_id": "A1"})
    assert unconfirmed.status_code == 409 and unconfirmed.json()["code"] == "cross_client", unconfirmed.text
    client = gw.token("u1", "client", client_id="C-1")
    by_client = await gw.http.post("/api/v1/tickets/A3/merge", headers=client, json={"target_id": "A1"})
    assert by_client.status_code == 403, by_client.text
    await untouched(gw, "X1", "A3")
    # The ledger holds the line too: a forged command without a lead's confirmation is refused there.
    forged = await gw.send("X1", t.MergeTicket(target_id="A1", merged_by="ann"), actor="ann")
    [refusal] = await eventually(lambda: [e for e in gw.events.items if e.causation_id == forged.id] or None,
                                 timeout=30, message="the ledger's answer")
    assert refusal.type == "CommandRejected" and refusal.payload["code"] == "cross_client"
    ok = await gw.http.post("/api/v1/tickets/X1/merge", headers=lea,
                            json={"target_id": "A1", "confirm_cross_client": True, "reason": "one customer, two ids"})
    assert ok.status_code == 200 and ok.json()["merged_into"] == "A1", ok.text
    [merged] = [h for h in await history(gw, "X1") if h["type"] == "TicketMerged"]
    assert merged["payload"]["cross_client_confirmed_by"] == "lea"


async def test_a_ticket_outside_the_scope_is_a_404_as_source_and_as_target(gw: Desk) -> None:
    for who in (gw.token("ann", "specialist"), gw.token("lea", "team_lead")):
        for source, target in (("A2", "TB"), ("TB", "A2")):
            resp = await gw.http.post(f"/api/v1/tickets/{source}/merge", headers=who,
                                      json={"target_id": target, "confirm_cross_client": True})
            assert resp.status_code == 404, (source, target, resp.status_code, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
        split = await gw.http.post("/api/v1/tickets/TB/split", headers=who, json={"message_ids": ["m-TB"]})
        assert split.status_code == 404, split.text
    await untouched(gw, "A2", "TB")


async def test_a_replayed_merge_has_one_effect(gw: Desk) -> None:
    lea = gw.token("lea", "team_lead")
    key = {"Idempotency-Key": "merge-A2-once"}
    first = await gw.http.post("/api/v1/tickets/A2/merge", headers={**lea, **key}, json={"target_id": "A3"})
    second = await gw.http.post("/api/v1/tickets/A2/merge", headers={**lea, **key}, json={"target_id": "A3"})
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    [merged] = [h for h in await history(gw, "A2") if h["type"] == "TicketMerged"]
    # The very command again, straight onto the topic (a replayed record or dead letter): same id, same events.
    await gw.send("A2", t.MergeTicket.model_validate({"target_id": "A3", "merged_by": "lea"}),
                  id=merged["causation_id"])
    await eventually(lambda: len([e for e in gw.events.items if e.id == merged["id"]]) >= 2, timeout=30,
                     message="the replay answered with the same event")
    await gw.wait("A3", "TicketAbsorbed")
    await eventually(lambda: len([e for e in gw.events.items if e.ticket_id == "A3"
                                  and e.type == "TicketAbsorbed"]) >= 2, timeout=30,
                     message="the follow-up sent again and answered")
    assert [h["type"] for h in await history(gw, "A2")].count("TicketMerged") == 1
    assert [h["type"] for h in await history(gw, "A3")].count("TicketAbsorbed") == 1
    target = await gw.ticket("A3")
    assert target["merged_from"] == ["A2"] and target["message_count"] == 2
