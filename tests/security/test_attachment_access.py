"""Attack replay (issue 19, attachments through the gateway): a file is reached only through a ticket its caller may
see, and only when that ticket's history names it; a client never gets an internal note's file; what is stored is
what the bytes prove, and what is served never runs in the desk's origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from integration.gateway.gateway_support import T0, stack

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from tests.support.desk import Desk

LIMIT = 4_000
CLIENTS = {"TA": ClientRef(client_id="C-1", service_team_id="A"), "TB": ClientRef(client_id="C-2", service_team_id="B")}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra, attachment_max_bytes=LIMIT) as s:
        for ticket_id, client in CLIENTS.items():
            content = InboundContent(message_id=f"m-{ticket_id}", channel=Channel.email, external_id=f"<{ticket_id}@c>",
                                     text="The line is down", sender=Sender(email=f"{ticket_id}@c.example"),
                                     received_at=T0)
            agent = "ann" if ticket_id == "TA" else "carol"
            await s.seed([(ticket_id, t.ReceiveMessage(channel=Channel.email, client=client, content=content)),
                          (ticket_id, t.AssignTicket(agent_id=agent, mode="lead"))])
        yield s


def people(gw: Desk) -> dict[str, dict[str, str]]:
    return {"ann": gw.token("ann", "specialist"), "carol": gw.token("carol", "specialist"),
            "root": gw.token("root", "administrator"),
            "c1": gw.token("u1", "client", client_id="C-1"), "c2": gw.token("u2", "client", client_id="C-2")}


async def upload(gw: Desk, who: dict[str, str], ticket_id: str, name: str, data: bytes, ctype: str) -> Any:
    return await gw.http.post(f"/api/v1/tickets/{ticket_id}/attachments", files={"file": (name, data, ctype)},
                              headers=who)


async def raw_upload(gw: Desk, who: dict[str, str], ticket_id: str, name: str, data: bytes, ctype: str) -> Any:
    """The multipart body as a hostile client writes it: the filename's bytes as given (httpx would escape them)."""
    part = (f'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n--b0undary--\r\n"
    return await gw.http.post(f"/api/v1/tickets/{ticket_id}/attachments", content=part,
                              headers={**who, "Content-Type": "multipart/form-data; boundary=b0undary"})


async def attached(gw: Desk, who: dict[str, str], ticket_id: str, action: str, name: str, data: bytes,
                   ctype: str) -> str:
    """Upload a file and send it with a reply, a note or a portal message; its id."""
    up = await raw_upload(gw, who, ticket_id, name, data, ctype)
    assert up.status_code == 201, up.text
    file_id: str = up.json()["id"]
    path = {"reply": f"/api/v1/tickets/{ticket_id}/reply", "note": f"/api/v1/tickets/{ticket_id}/notes",
            "message": f"/api/v1/portal/tickets/{ticket_id}/messages"}[action]
    sent = await gw.http.post(path, json={"text": f"see {name}", "attachment_ids": [file_id]}, headers=who)
    assert sent.status_code == 200, sent.text
    return file_id


def problem(resp: Any, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_another_clients_ticket_is_404_to_upload_to_and_download_from(gw: Desk) -> None:
    who = people(gw)
    file_id = await attached(gw, who["ann"], "TA", "reply", "scan.png", PNG, "image/png")
    problem(await upload(gw, who["c2"], "TA", "x.txt", b"hello", "text/plain"), 404)
    problem(await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["c2"]), 404)
    problem(await gw.http.get(f"/api/v1/tickets/TB/attachments/{file_id}", headers=who["c2"]), 404)
    problem(await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["carol"]), 404)  # team B
    own = await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["c1"])
    assert own.status_code == 200 and own.content == PNG


async def test_a_file_id_of_another_ticket_is_404_and_cannot_be_sent_on_it(gw: Desk) -> None:
    who = people(gw)
    theirs = await attached(gw, who["carol"], "TB", "reply", "b.txt", b"team B's file", "text/plain")
    for user in ("root", "ann", "c1"):  # the administrator sees both tickets: still only through TB
        problem(await gw.http.get(f"/api/v1/tickets/TA/attachments/{theirs}", headers=who[user]), 404)
    assert (await gw.http.get(f"/api/v1/tickets/TB/attachments/{theirs}", headers=who["root"])).status_code == 200
    problem(await gw.http.get("/api/v1/tickets/TA/attachments/nope", headers=who["ann"]), 404)
    # an upload is sent only on its own ticket, and only by whoever uploaded it
    problem(await gw.http.post("/api/v1/tickets/TA/reply", json={"text": "x", "attachment_ids": [theirs]},
                               headers=who["root"]), 422)
    mine = (await upload(gw, who["ann"], "TA", "a.txt", b"ann's file", "text/plain")).json()["id"]
    problem(await gw.http.post("/api/v1/portal/tickets/TA/messages", json={"text": "x", "attachment_ids": [mine]},
                               headers=who["c1"]), 422)
    history = (await gw.http.get("/api/v1/tickets/TA?history=true", headers=who["root"])).text
    assert theirs not in history and mine not in history


async def test_a_notes_attachment_is_refused_to_the_client(gw: Desk) -> None:
    who = people(gw)
    secret = b"internal: the client's account is flagged"
    file_id = await attached(gw, who["ann"], "TA", "note", "internal.txt", secret, "text/plain")
    staff = await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["ann"])
    assert staff.status_code == 200 and staff.content == secret
    problem(await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["c1"]), 404)
    seen = await gw.http.get("/api/v1/tickets/TA?history=true", headers=who["c1"])
    assert seen.status_code == 200 and file_id not in seen.text


async def test_active_content_is_served_as_an_octet_stream_attachment_that_runs_nothing(gw: Desk) -> None:
    who = people(gw)
    html = b"<html><body><script>fetch('/api/v1/me')</script></body></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    for name, data, ctype in (("page.html", html, "text/html"), ("logo.svg", svg, "image/svg+xml"),
                              ("../../etc/пароль\tX-Evil: 1\u202egpj.html", html, "text/html")):
        file_id = await attached(gw, who["c1"], "TA", "message", name, data, ctype)
        got = await gw.http.get(f"/api/v1/tickets/TA/attachments/{file_id}", headers=who["ann"])
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"] == "sandbox"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment; filename*=UTF-8''") and "x-evil" not in got.headers
        assert "/" not in disposition.split("''", 1)[1] and "\t" not in disposition and "%09" not in disposition
    assert disposition.endswith("%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C%20X-Evil%3A%201%20gpj.html")


async def test_an_over_size_upload_is_a_413_problem(gw: Desk) -> None:
    who = people(gw)
    problem(await upload(gw, who["c1"], "TA", "big.txt", b"a" * (LIMIT + 1), "text/plain"), 413)
    problem(await upload(gw, who["c1"], "TA", "huge.txt", b"a" * (LIMIT + 200_000), "text/plain"), 413)
    assert (await upload(gw, who["c1"], "TA", "fits.txt", b"a" * LIMIT, "text/plain")).status_code == 201


async def test_an_executable_disguised_as_an_image_or_text_is_a_415_problem(gw: Desk) -> None:
    who = people(gw)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64
    for name, data, ctype in (("photo.png", exe, "image/png"), ("scan.pdf", exe, "application/pdf"),
                              ("notes.txt", elf, "text/plain"), ("report.docx", b"PK\x03\x04" + b"\x00" * 40,
                                                                 "application/vnd.openxmlformats-officedocument."
                                                                 "wordprocessingml.document")):
        problem(await upload(gw, who["c1"], "TA", name, data, ctype), 415)
    history = (await gw.http.get("/api/v1/tickets/TA?history=true", headers=who["root"])).text
    assert "photo.png" not in history
