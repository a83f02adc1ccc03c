"""Importing clients, contracts and contacts over the gateway (the administration's CSV upload): the same
importer as ``frontline import contacts`` (rows reported one by one, the rest imported, idempotent), for
administrators only, refusing what it cannot read as a problem."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from gateway_support import stack

from tests.support.desk import Desk

URL = "/api/v1/admin/import/contacts"
CSV = ("client_id,client_name,category,contract_number,product,contact_name,emails,phones\n"
       "imp-1,Import One,Premium,IMP-001,internet,Ira,Ira@Import.Example,+7 912 345 67 89\n"
       "imp-1,Import One,,IMP-002,,,,\n"
       ",Nameless,,,,,x@y.example,\n"
       "imp-2,Import Two,,,,Bad,not-an-address,\n")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        yield s


def _file(text: str, name: str = "clients.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode("utf-8-sig"), "text/csv")}


async def test_an_administrator_imports_a_csv_and_bad_rows_are_reported_by_line(gw: Desk) -> None:
    admin = gw.token("root", "administrator")
    resp = await gw.http.post(URL, files=_file(CSV), headers=admin)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["rows"], report["imported"], report["failed"]) == (4, 2, 2)
    assert [e["row"] for e in report["errors"]] == ["line 4", "line 5"]
    assert "client_id is required" in report["errors"][0]["reason"]
    assert "not-an-address" in report["errors"][1]["reason"]
    contact = await gw.http.get("/api/v1/admin/directories/contacts", headers=admin)
    imported = [e["data"] for e in contact.json()["items"] if e["data"]["client_id"] == "imp-1"]
    assert [(c["emails"], c["phones"], c["source"]) for c in imported] == [
        (["ira@import.example"], ["+79123456789"], "import")]
    contracts = await gw.http.get("/api/v1/admin/directories/contracts/IMP-002", headers=admin)
    assert contracts.status_code == 200 and contracts.json()["data"]["client_id"] == "imp-1"
    audit = await gw.http.get("/api/v1/admin/directories/clients/audit", params={"key": "imp-1"}, headers=admin)
    assert audit.json()["items"][0]["actor"] == "root"  # written as the administrator who imported it
    again = (await gw.http.post(URL, files=_file(CSV), headers=admin)).json()
    assert again["counts"]["clients"]["created"] == 0 and again["counts"]["clients"]["unchanged"] == 2


async def test_only_administrators_import_and_an_unreadable_file_is_a_problem(gw: Desk) -> None:
    for role in ("specialist", "team_lead", "client"):
        resp = await gw.http.post(URL, files=_file(CSV), headers=gw.token("x", role))
        assert resp.status_code == 403, (role, resp.text)
    admin = gw.token("root", "administrator")
    for body in (_file("", "empty.csv"), {"file": ("bin.csv", b"\xff\xfe\x00bad", "text/csv")},
                 _file("{not json", "rows.json"), _file('{"clients": 5}', "rows.json"),
                 _file('{"clients": [{"contacts": 7}]}', "rows.json"), _file('"text"', "rows.json")):
        resp = await gw.http.post(URL, files=body, headers=admin)
        assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert (await gw.http.post(URL, headers=admin)).status_code == 422
