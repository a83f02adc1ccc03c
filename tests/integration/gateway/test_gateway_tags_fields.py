"""Tags and custom fields on a real desk (ledger, routing, SLA and gateway on the real broker and database):
tag a ticket, filter a queue by tag, count tags in a report; define a field, set a value, have a bad one refused in
words; a field routes a ticket to a group and chooses its SLA policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from integration.gateway.gateway_support import T0, seed_directory

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.directory.custom_fields import FieldCondition
from shared.directory.routing import Agent, Group
from shared.directory.sla import SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

C1_A = ClientRef(client_id="C-1", service_team_id="A")
TV = [FieldCondition(field="product", values=["tv"])]
PRODUCT = {"id": "product", "label": {"ru": "Продукт", "en": "Product"}, "kind": "select", "required": True,
           "ticket_types": ["request", "complaint"], "options": [{"value": "internet"}, {"value": "tv"}]}
DEVICES = {"id": "devices", "label": {"ru": "Устройств", "en": "Devices"}, "kind": "number"}
PERIOD = {"period_start": (T0 - timedelta(hours=1)).isoformat(), "period_end": (T0 + timedelta(days=1)).isoformat()}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    """Group tv-experts (second line) takes product = tv; SLA policy tv-care applies to product = tv. G1 and G2 are
    team A's new tickets, offered on the first line."""
    async def directories(db: Any) -> None:
        await seed_directory(db)
        from shared.directory import DirectoryStore
        from shared.directory.routing import AGENTS, GROUPS
        from shared.directory.sla import POLICIES
        await DirectoryStore(db, GROUPS).put(Group(id="tv-experts", line_id="second", when_fields=TV),
                                             actor="seed", at=T0)
        await DirectoryStore(db, AGENTS).put(Agent(id="sam", name="Sam", line_ids=["second"],
                                                   group_ids=["tv-experts"], team_ids=["A"]), actor="seed", at=T0)
        await DirectoryStore(db, POLICIES).put(SlaPolicy(id="tv-care", when_fields=TV, targets=Targets(
            first_response_seconds=600, resolution_seconds=3600)), actor="seed", at=T0)

    env = {**infra, **isolated_env()}
    async with running_desk(env, ManualClock(T0), ["routing", "sla", "gateway"], front="gateway", base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 10.0}}, before=directories) as d:
        admin = d.token("root", "administrator")
        for field in (PRODUCT, DEVICES):
            resp = await d.http.put(f"/api/v1/admin/directories/custom-fields/{field['id']}", json=field,
                                    headers=admin)
            assert resp.status_code == 200, resp.text
        await d.seed([(tid, t.OpenTicket(channel=Channel.web, client=C1_A, subject=tid)) for tid in ("G1", "G2")])
        for tid in ("G1", "G2"):
            await d.wait(tid, "TicketOffered")
        yield d


def ann(d: Desk) -> dict[str, str]:
    return d.token("ann", "specialist", lines=["first"], teams=["A"])


async def test_tag_a_ticket_filter_the_queue_and_count_tags(desk: Desk) -> None:
    resp = await desk.http.post("/api/v1/tickets/G1/tags", json={"add": ["VIP", "outage"]}, headers=ann(desk))
    assert resp.status_code == 200, resp.text
    assert resp.json()["tags"] == ["vip", "outage"]
    resp = await desk.http.post("/api/v1/tickets/G1/tags", json={"remove": ["outage"]}, headers=ann(desk))
    assert resp.json()["tags"] == ["vip"]
    [changed, removed] = await desk.wait("G1", "TagsChanged", count=2)
    assert changed.payload["added"] == ["vip", "outage"] and changed.actor == "ann"
    assert removed.payload["removed"] == ["outage"]

    listed = await desk.http.get("/api/v1/tickets", params={"tag": "VIP"}, headers=ann(desk))
    assert [i["id"] for i in listed.json()["items"]] == ["G1"]
    offers = await desk.http.get("/api/v1/queues/offers", params={"tag": "vip"}, headers=ann(desk))
    assert [i["id"] for i in offers.json()["items"]] == ["G1"]
    everything = await desk.http.get("/api/v1/queues/offers", headers=ann(desk))
    assert {"G1", "G2"} <= {i["id"] for i in everything.json()["items"]}

    lead = desk.token("lea", "team_lead", teams=["A"])
    report = await desk.http.get("/api/v1/reports/tags", params=PERIOD, headers=lead)
    assert report.status_code == 200, report.text
    assert report.json()["tagged"] == 1
    assert [(r["tag"], r["total"], r["open"]) for r in report.json()["rows"]] == [("vip", 1, 1)]
    narrowed = await desk.http.get("/api/v1/reports/channels", params={**PERIOD, "tags": ["vip"]}, headers=lead)
    assert narrowed.json()["total"] == 1


async def test_a_field_value_is_set_and_a_bad_one_refused_in_words(desk: Desk) -> None:
    resp = await desk.http.post("/api/v1/tickets/G2/fields", json={"values": {"devices": 3}}, headers=ann(desk))
    assert resp.status_code == 200, resp.text
    assert resp.json()["custom_fields"] == {"devices": 3}
    for values, words in (({"product": "radio"}, "product must be one of internet, tv; 'radio' is not in the list"),
                          ({"devices": "three"}, "devices takes a number"),
                          ({"colour": "red"}, "there is no custom field 'colour'")):
        bad = await desk.http.post("/api/v1/tickets/G2/fields", json={"values": values}, headers=ann(desk))
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert words in bad.json()["detail"] and bad.json()["code"] == "invalid_custom_field"
    assert (await desk.ticket("G2"))["custom_fields"] == {"devices": 3}
    fields = await desk.http.get("/api/v1/custom-fields", params={"ticket_type": "consultation"}, headers=ann(desk))
    assert [f["id"] for f in fields.json()] == ["devices"]  # product applies to requests and complaints only


async def test_product_tv_routes_the_ticket_to_the_tv_group_and_its_sla_policy(desk: Desk) -> None:
    [first] = await desk.wait("G2", "TicketOffered")
    assert first.payload["line"] == "first" and "sam" not in first.payload["agent_ids"]
    resp = await desk.http.post("/api/v1/tickets/G2/fields", json={"values": {"product": "tv"}}, headers=ann(desk))
    assert resp.status_code == 200, resp.text
    [_, moved] = await desk.wait("G2", "TicketOffered", count=2, timeout=30)
    assert moved.payload["line"] == "second" and moved.payload["group_id"] == "tv-experts"
    assert moved.payload["agent_ids"] == ["sam"] and moved.payload["reason"] == "reclassified"

    async def policy() -> str | None:
        view = await desk.http.get("/api/v1/tickets/G2", headers=desk.token("root", "administrator"))
        sla = view.json().get("sla") or {}
        return sla.get("policy_id") if sla.get("policy_id") == "tv-care" else None
    await eventually(policy, timeout=30, message="the SLA service chose tv-care by the product field")
    clock = await desk.db["sla_clocks"].find_one({"_id": "G2"})
    assert clock["targets"]["first_response"]["target_seconds"] == 600

    lead = desk.token("lea", "team_lead", teams=["A"])
    report = await desk.http.get("/api/v1/reports/custom-fields", params={**PERIOD, "field": "product"}, headers=lead)
    assert report.status_code == 200, report.text
    assert {(r["value"], r["total"]) for r in report.json()["rows"]} == {("tv", 1), (None, 1)}
    only_tv = await desk.http.get("/api/v1/reports/channels", params={**PERIOD, "fields": ["product=tv"]},
                                  headers=lead)
    assert only_tv.json()["total"] == 1
    malformed = await desk.http.get("/api/v1/reports/channels", params={**PERIOD, "fields": ["$where=1"]},
                                    headers=lead)
    assert malformed.status_code == 422 and "id=value" in malformed.json()["detail"]


async def test_a_required_field_is_needed_to_resolve(desk: Desk) -> None:
    await desk.seed([("G3", t.OpenTicket(channel=Channel.web, client=C1_A, subject="G3"))])
    await desk.wait("G3", "TicketOffered")
    claimed = await desk.http.post("/api/v1/tickets/G3/claim", headers=ann(desk))
    assert claimed.status_code == 200, claimed.text
    resolve = {"problem": "no picture", "solution": "re-tuned"}
    refused = await desk.http.post("/api/v1/tickets/G3/resolve", json=resolve, headers=ann(desk))
    assert refused.status_code == 409 and refused.json()["code"] == "custom_fields_required", refused.text
    assert "product" in refused.json()["detail"]
    await desk.http.post("/api/v1/tickets/G3/fields", json={"values": {"product": "internet"}}, headers=ann(desk))
    done = await desk.http.post("/api/v1/tickets/G3/resolve", json=resolve, headers=ann(desk))
    assert done.status_code == 200 and done.json()["status"] == "resolved", done.text
