"""The catalogue pickers' endpoint over the real directories: services → sub-services → allowed groups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from gateway_support import T0, stack

from shared.directory import DirectoryStore
from shared.directory.routing import GROUPS, SERVICES, Group, ServiceNode
from tests.support.desk import Desk

URL = "/api/v1/catalogue"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        services, groups = DirectoryStore(s.db, SERVICES), DirectoryStore(s.db, GROUPS)
        for node in (ServiceNode(id="air", name={"en": "Air"}, group_ids=["first-travel"], service_type="air"),
                     ServiceNode(id="air-exchange", parent_id="air", name={"en": "Exchange"},
                                 group_ids=["first-travel", "second-travel", "retired"]),
                     ServiceNode(id="air-baggage", parent_id="air", name={"en": "Baggage"}),
                     ServiceNode(id="air-baggage-lost", parent_id="air-baggage"),
                     ServiceNode(id="air-visa", parent_id="air"),
                     ServiceNode(id="rail", group_ids=["first-rail"])):
            await services.put(node, actor="seed", at=T0)
        for group in (Group(id="first-travel", line_id="first", name={"en": "Travel desk"}),
                      Group(id="second-travel", line_id="second", name={"en": "Travel experts"}),
                      Group(id="first-rail", line_id="first")):
            await groups.put(group, actor="seed", at=T0)
        yield s


async def test_picking_a_service_then_a_sub_service_narrows_what_is_offered(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    top = await gw.http.get(URL, headers=ann)
    assert top.status_code == 200, top.text
    assert [s["id"] for s in top.json()["sub_services"]] == ["air", "rail"] and top.json()["groups"] == []
    air = (await gw.http.get(URL, params={"service_id": "air"}, headers=ann)).json()
    assert [(s["id"], s["has_sub_services"]) for s in air["sub_services"]] == [
        ("air-baggage", True), ("air-exchange", False), ("air-visa", False)]
    assert [g["id"] for g in air["groups"]] == ["first-travel"]
    exchange = (await gw.http.get(URL, params={"service_id": "air", "sub_service_id": "air-exchange"},
                                  headers=ann)).json()
    # the groups the sub-service allows, named from the groups directory; one it no longer has stays bare
    assert exchange["groups"] == [
        {"id": "first-travel", "name": {"en": "Travel desk"}, "line_id": "first"},
        {"id": "second-travel", "name": {"en": "Travel experts"}, "line_id": "second"},
        {"id": "retired", "name": {}, "line_id": None}]
    # a sub-service without groups of its own gets its service's, as routing decides
    baggage = (await gw.http.get(URL, params={"service_id": "air", "sub_service_id": "air-baggage"},
                                 headers=gw.token("lea", "team_lead"))).json()
    assert [g["id"] for g in baggage["groups"]] == ["first-travel"]
    # pages of sub-services, like every list
    page = (await gw.http.get(URL, params={"service_id": "air", "limit": 2}, headers=ann)).json()
    assert [s["id"] for s in page["sub_services"]] == ["air-baggage", "air-exchange"] and page["limit"] == 2
    rest = (await gw.http.get(URL, params={"service_id": "air", "limit": 2, "cursor": page["next_cursor"]},
                              headers=ann)).json()
    assert [s["id"] for s in rest["sub_services"]] == ["air-visa"] and rest["next_cursor"] is None


async def test_refusals_are_problems(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    cases = [
        ({"service_id": "spaceflight"}, ann, 404),
        ({"service_id": "rail", "sub_service_id": "air-exchange"}, ann, 422),  # not rail's sub-service
        ({"service_id": ""}, ann, 422),
        ({}, gw.token("u1", "client", client_id="C-1"), 403),  # staff only
        ({}, {}, 401),
    ]
    for params, headers, status in cases:
        resp = await gw.http.get(URL, params=params, headers=headers)
        assert resp.status_code == status, (params, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["status"] == status
