"""Malware scanning of files, against a real clamd (tests/support/clamd.py) and the real broker and database: the
EICAR test file uploaded to the gateway is quarantined and the ticket's history says so; a client's infected file
that came in through intake is never served, not even to an administrator; a clean file flows once scanned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from gateway_support import T0, seed_directory

from shared.contracts.collections import INTAKE_ATTACHMENTS, TICKETS
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.runtime.clock import ManualClock
from tests.support.clamd import EICAR, SIGNATURE, clamd  # noqa: F401  (fixture)
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT_EICAR = ("virus.txt", EICAR, "text/plain")  # EICAR is printable ASCII: accepted as text, caught by the scan


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str], clamd: str) -> AsyncIterator[Desk]:  # noqa: F811
    scan = {"attachment_scan_url": clamd, "attachment_scan_timeout": 60.0}
    async with running_desk({**infra, **isolated_env()}, ManualClock(T0), ["intake", "gateway"], base_url="http://gw",
                            settings={"gateway": {"action_wait_seconds": 5.0, **scan}, "intake": scan}) as s:
        await seed_directory(s.db)
        content = InboundContent(message_id="m-SA", channel=Channel.email, external_id="<SA@c>", text="No line",
                                 sender=Sender(email="anna@c1.example"), received_at=T0)
        await s.seed([("SA", t.ReceiveMessage(channel=Channel.email, content=content,
                                              client=ClientRef(client_id="C-1", service_team_id="A"))),
                      ("SA", t.AssignTicket(agent_id="ann", mode="lead"))])
        yield s


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    return body


def quarantine_flags(history: list[dict[str, Any]]) -> dict[str, str]:
    return {h["payload"]["flag"].split(":", 1)[1]: h["payload"]["reason"] for h in history
            if h["type"] == "FlagChanged" and h["payload"]["flag"].startswith("attachment_quarantined:")}


async def history(gw: Desk, ticket_id: str, who: dict[str, str]) -> list[dict[str, Any]]:
    resp = await gw.http.get(f"/api/v1/tickets/{ticket_id}", params={"history": "true"}, headers=who)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["history"])


async def test_eicar_uploaded_is_quarantined_never_sent_and_the_history_says_so(gw: Desk) -> None:
    ann = gw.token("ann", "specialist")
    up = problem(await gw.http.post("/api/v1/tickets/SA/attachments", headers=ann, files={"file": TEXT_EICAR}), 423)
    file_id = up["file_id"]
    flags = await eventually(lambda: _flags_naming(gw, "SA", ann, file_id), timeout=30,
                             message="the quarantine flag in the ticket's history")
    assert flags[file_id].startswith(f"virus.txt: {SIGNATURE}")
    problem(await gw.http.post("/api/v1/tickets/SA/reply", headers=ann,
                               json={"text": "see attached", "attachment_ids": [file_id]}), 423)
    root = gw.token("root", "administrator")
    problem(await gw.http.get(f"/api/v1/tickets/SA/attachments/{file_id}", headers=root), 404)  # no event names it


async def _flags_naming(gw: Desk, ticket_id: str, who: dict[str, str], file_id: str) -> dict[str, str] | None:
    flags = quarantine_flags(await history(gw, ticket_id, who))
    return flags if file_id in flags else None


async def test_a_clean_file_is_downloadable_after_the_scan(gw: Desk) -> None:
    ann, c1 = gw.token("ann", "specialist"), gw.token("u1", "client", client_id="C-1")
    up = await gw.http.post("/api/v1/tickets/SA/attachments", headers=ann, files={"file": ("a.pdf", PDF, "x/y")})
    assert up.status_code == 201, up.text
    assert up.headers["x-scan-status"] == "clean"
    file_id = up.json()["id"]
    sent = await gw.http.post("/api/v1/tickets/SA/reply", headers=ann,
                              json={"text": "the invoice", "attachment_ids": [file_id]})
    assert sent.status_code == 200, sent.text
    got = await gw.http.get(f"/api/v1/tickets/SA/attachments/{file_id}", headers=c1)
    assert got.status_code == 200 and got.content == PDF


async def test_a_clients_infected_file_from_intake_is_never_served_and_flagged_by_intake(gw: Desk) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.apps["intake"]),  # type: ignore[arg-type]
                                 base_url="http://intake") as intake:
        up = await intake.post("/api/v1/attachments", files={"file": ("report.txt", EICAR, "text/plain")})
        assert up.status_code == 201, up.text
        file_id = up.json()["id"]
        form = await intake.post("/api/v1/webhooks/form", json={
            "submission_id": "form-eicar", "email": "anna@c1.example", "text": "see the report",
            "attachment_ids": [file_id]})
        assert form.status_code == 202, form.text
    ticket = await eventually(lambda: gw.db[TICKETS].find_one({"history.payload.content.attachments.id": file_id}),
                              timeout=30, message="the ticket the client's message opened")
    entry = await gw.db[f"{INTAKE_ATTACHMENTS}.files"].find_one({"_id": file_id})
    assert entry is not None and entry["metadata"]["scan"]["status"] in ("pending", "infected")
    root = gw.token("root", "administrator")
    flags = await eventually(lambda: _flags_naming(gw, ticket["_id"], root, file_id), timeout=30,
                             message="intake's quarantine flag in the ticket's history")
    assert flags[file_id].startswith(f"report.txt: {SIGNATURE}")
    body = problem(await gw.http.get(f"/api/v1/tickets/{ticket['_id']}/attachments/{file_id}", headers=root), 423)
    assert body["file_id"] == file_id and "EICAR" not in str(body)
