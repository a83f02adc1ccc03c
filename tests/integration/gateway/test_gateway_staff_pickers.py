"""The read-only pickers the console's forms need from the directories (issues 19 and 23): the classification tree a
specialist reclassifies from, and the clients and contacts a lead or administrator may invite to the portal. Real
broker and database; the directories are written as an administrator would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from gateway_support import T0, stack

from shared.directory.classification import Subtopic, Topic, TopicType, UrgencyRule
from shared.directory.contacts import Client, ContactPerson
from tests.support.desk import Desk

TREE, CLIENTS = "/api/v1/classification", "/api/v1/portal/invitations/clients"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.put(
            Topic(id="internet", name={"en": "Internet", "ru": "Интернет"}, product_required=True, line="second",
                  service_id="net", types=[TopicType(type="complaint", line="third", subtopics=[
                      Subtopic(id="no_connection", name={"en": "No connection"}, line="third")])]),
            Topic(id="billing", name={"en": "Billing"}, types=[TopicType(type="request")]),
            Topic(id="fax", name={"en": "Fax"}, active=False),
            UrgencyRule(id="down", urgency="critical", keywords=["down"]),
            Client(id="C-1", name="Vector", service_team_id="A"), Client(id="C-3", name="Atlas", service_team_id="A"),
            Client(id="C-4", name="Closed", service_team_id="A", active=False),
            Client(id="C-2", name="Orbita", service_team_id="B"),
            ContactPerson(id="P-1", client_id="C-1", name="Anna", emails=["anna@c1.example"], phones=["+7495"]),
            ContactPerson(id="P-9", client_id="C-1", name="No mail"),
            ContactPerson(id="P-2", client_id="C-2", name="Boris", emails=["boris@c2.example"]), at=T0)
        yield s


async def test_a_specialist_reads_the_active_classification_tree_without_its_routing(gw: Desk) -> None:
    resp = await gw.http.get(TREE, headers=gw.token("ann", "specialist"))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "topics": [
            {"id": "billing", "name": {"en": "Billing"}, "product_required": False,
             "types": [{"type": "request", "subtopics": []}]},
            {"id": "internet", "name": {"en": "Internet", "ru": "Интернет"}, "product_required": True,
             "types": [{"type": "complaint", "subtopics": [{"id": "no_connection", "name": {"en": "No connection"}}]}]},
        ],
        "urgencies": ["critical"]}


async def test_the_tree_is_for_staff_only(gw: Desk) -> None:
    for headers, status in ((gw.token("u1", "client", client_id="C-1"), 403), ({}, 401)):
        resp = await gw.http.get(TREE, headers=headers)
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_lead_lists_only_his_teams_active_clients_and_their_contacts(gw: Desk) -> None:
    lea = gw.token("lea", "team_lead")
    clients = await gw.http.get(CLIENTS, headers=lea)
    assert clients.status_code == 200, clients.text
    assert clients.json() == {"items": [{"id": "C-1", "name": "Vector"}, {"id": "C-3", "name": "Atlas"}],
                              "next_cursor": None, "ticket_access": ["organisation", "own"]}
    contacts = await gw.http.get(f"{CLIENTS}/C-1/contacts", headers=lea)
    assert contacts.status_code == 200, contacts.text
    assert contacts.json() == {"client": {"id": "C-1", "name": "Vector"}, "items": [
        {"id": "P-1", "name": "Anna", "emails": ["anna@c1.example"]}, {"id": "P-9", "name": "No mail", "emails": []}]}


async def test_an_administrator_pages_every_active_client(gw: Desk) -> None:
    root = gw.token("root", "administrator")
    first = (await gw.http.get(CLIENTS, params={"limit": 2}, headers=root)).json()
    assert [c["id"] for c in first["items"]] == ["C-1", "C-2"] and first["next_cursor"] == "C-2"
    rest = (await gw.http.get(CLIENTS, params={"limit": 2, "cursor": "C-2"}, headers=root)).json()
    assert [c["id"] for c in rest["items"]] == ["C-3"] and rest["next_cursor"] is None
    other = await gw.http.get(f"{CLIENTS}/C-2/contacts", headers=root)
    assert [c["id"] for c in other.json()["items"]] == ["P-2"]
    assert (await gw.http.get(f"{CLIENTS}/C-404/contacts", headers=root)).status_code == 404


async def test_others_clients_unknown_ones_and_other_roles_are_refused_alike(gw: Desk) -> None:
    lea = gw.token("lea", "team_lead")
    other, unknown = [await gw.http.get(f"{CLIENTS}/{c}/contacts", headers=lea) for c in ("C-2", "C-404")]
    assert other.status_code == unknown.status_code == 403
    assert "Boris" not in other.text and other.json()["detail"].replace("C-2", "X") == \
        unknown.json()["detail"].replace("C-404", "X")  # a lead learns nothing about other teams' clients
    for headers in (gw.token("ann", "specialist"), gw.token("P-1", "client", client_id="C-1")):
        for path in (CLIENTS, f"{CLIENTS}/C-1/contacts"):
            resp = await gw.http.get(path, headers=headers)
            assert resp.status_code == 403, (path, resp.text)
            assert "Anna" not in resp.text
