"""Attack replay (issue 22): tags and custom fields are ticket writes like any other. Outside his scope a
specialist gets 404 and nothing reaches the ledger; a client writes neither; only administrators define fields;
markup never becomes a tag (refused at the door and by the ledger's schema), and the API answers JSON only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from integration.gateway.gateway_support import stack
from pydantic import ValidationError

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk

FIELD = {"id": "product", "kind": "select", "options": [{"value": "tv"}]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        ok = await s.http.put("/api/v1/admin/directories/custom-fields/product", json=FIELD,
                              headers=s.token("root", "administrator"))
        assert ok.status_code == 200, ok.text
        await s.seed([("TA", t.OpenTicket(channel=Channel.web, client=ClientRef(client_id="C-1", service_team_id="A"),
                                          line="first")), ("TA", t.AssignTicket(agent_id="ann", mode="lead"))])
        yield s


async def _untouched(gw: Desk) -> None:
    doc = await gw.ticket("TA")
    assert doc.get("tags", []) == [] and doc.get("custom_fields", {}) == {}
    assert not gw.events.of("TA", "TagsChanged") and not gw.events.of("TA", "CustomFieldsSet")
    assert not gw.events.of("TA", "CommandRejected")


async def test_a_specialist_outside_the_scope_gets_404_and_the_ledger_hears_nothing(gw: Desk) -> None:
    carol = gw.token("carol", "specialist", lines=["first"], teams=["B"])
    for path, body in (("tags", {"add": ["mine"]}), ("fields", {"values": {"product": "tv"}})):
        resp = await gw.http.post(f"/api/v1/tickets/TA/{path}", json=body, headers=carol)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    await _untouched(gw)


async def test_a_client_cannot_tag_or_set_fields_even_on_his_own_ticket(gw: Desk) -> None:
    client = gw.token("u1", "client", client_id="C-1")
    assert (await gw.http.get("/api/v1/tickets/TA", headers=client)).status_code == 200  # he may read it
    for path, body in (("tags", {"add": ["urgent"]}), ("fields", {"values": {"product": "tv"}})):
        resp = await gw.http.post(f"/api/v1/tickets/TA/{path}", json=body, headers=client)
        assert resp.status_code == 403, (path, resp.text)
    assert (await gw.http.get("/api/v1/custom-fields", headers=client)).status_code == 403
    await _untouched(gw)


async def test_only_administrators_write_the_custom_fields_directory(gw: Desk) -> None:
    hijack = {**FIELD, "options": [{"value": "tv"}, {"value": "anything"}]}
    before = await gw.db["dir_custom_fields"].find_one({"_id": "product"})
    for headers in (gw.token("ann", "specialist", lines=["first"], teams=["A"]),
                    gw.token("lea", "team_lead", teams=["A"]), gw.token("u1", "client", client_id="C-1")):
        for method, path, body in (("PUT", "product", hijack), ("PUT", "new", {"id": "new"}),
                                   ("DELETE", "product", None)):
            resp = await gw.http.request(method, f"/api/v1/admin/directories/custom-fields/{path}", json=body,
                                         headers={**headers, "If-Match": "*"})
            assert resp.status_code == 403, (method, path, resp.text)
    assert await gw.db["dir_custom_fields"].find_one({"_id": "product"}) == before
    assert await gw.db["dir_custom_fields"].count_documents({}) == 1


async def test_markup_never_becomes_a_tag_and_answers_are_json_not_html(gw: Desk) -> None:
    ann = gw.token("ann", "specialist", lines=["first"], teams=["A"])
    for tag in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "a\"b", "x&amp;y", "tab\there"):
        resp = await gw.http.post("/api/v1/tickets/TA/tags", json={"add": [tag]}, headers=ann)
        assert resp.status_code == 422, (tag, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "<script" not in resp.headers.get("content-type", "")
    await _untouched(gw)
    with pytest.raises(ValidationError):  # a forged command with markup is no ledger command at all
        t.ChangeTags(add=["<b>x</b>"], by="ann")
    ok = await gw.http.post("/api/v1/tickets/TA/tags", json={"add": ["Ошибка-биллинга"]}, headers=ann)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/json", ok.text
    assert ok.json()["tags"] == ["ошибка-биллинга"]
    view = await gw.http.get("/api/v1/tickets/TA", headers=ann)
    assert view.headers["content-type"] == "application/json" and view.json()["tags"] == ["ошибка-биллинга"]
