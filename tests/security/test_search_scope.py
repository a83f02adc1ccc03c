"""Attack replay (issue 22, search): full-text search is a second way to read tickets, so it must scope exactly as
the ticket reads do. A specialist searching another team's words, a client searching another client's words or
his own ticket's internal notes gets nothing (no hit, no fragment); hostile query syntax and huge queries are a
422 problem or plain text, never a 500; and a hit the index still has after the ticket left the caller's scope is
dropped by the gateway's own check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from integration.search.search_desk import opening, search_desk

from services.search.domain import People, index_doc
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ClientRef
from shared.contracts.tokens import mint_token
from tests.support.testing import eventually

TEAM_A = ClientRef(client_id="C-A", client_name="Alpha", service_team_id="A")
TEAM_B = ClientRef(client_id="C-B", client_name="Beta", service_team_id="B")
WAIT = 60.0
HOSTILE = ['subject:* OR 1=1', 'notes:перезвонить', '"unterminated', '*', '(((', 'a~2 AND b^9', '{$ne: 1}',
           '<script>alert(1)</script>', 'field:[* TO *]', '\\', '../../etc/passwd', 'ticket_id:T-B']


def bearer(settings: Any, user: str, role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, user, role, **claims)}"}


async def search(http: httpx.AsyncClient, headers: dict[str, str], q: str, **params: Any) -> dict[str, Any]:
    resp = await http.get("/api/v1/search", params={"q": q, **params}, headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_search_hits_and_fragments_stay_in_the_callers_scope(infra: dict[str, str], tmp_path: Path) -> None:
    async with search_desk(infra, tmp_path / "index") as desk, desk.search_running(), desk.gateway() as (http, gs):
        await desk.send("T-A", opening("Роутер перегревается в серверной", client=TEAM_A))
        await desk.send("T-B", opening("Роутер Beta перегревается каждую ночь", client=TEAM_B))
        await desk.send("T-A", t.AddNote(author_id="ann", text="секретный пароль qwerty123 от роутера"))
        admin = bearer(gs, "root", "administrator")
        await eventually(lambda: _ids(http, admin, "qwerty123", {"T-A"}), timeout=WAIT, message="note indexed")
        await eventually(lambda: _ids(http, admin, "роутер", {"T-A", "T-B"}), timeout=WAIT, message="both indexed")

        ann = bearer(gs, "ann", "specialist", teams=["A"], lines=["first"])
        assert {i["id"] for i in (await search(http, ann, "роутер"))["items"]} == {"T-A"}
        assert (await search(http, ann, "Beta"))["items"] == []  # team B's client name
        assert (await search(http, ann, "ночь"))["total"] == 0  # team B's words: not even counted
        assert {i["id"] for i in (await search(http, ann, "qwerty123"))["items"]} == {"T-A"}  # staff: notes

        client_a = bearer(gs, "alpha-user", "client", client_id="C-A")
        client_b = bearer(gs, "beta-user", "client", client_id="C-B")
        assert {i["id"] for i in (await search(http, client_b, "роутер"))["items"]} == {"T-B"}
        for q in ("qwerty123", "секретный пароль", "пароль"):  # his own ticket's note: neither hit nor fragment
            body = await search(http, client_a, q)
            assert body["items"] == [] and body["total"] == 0, body
        body = await search(http, client_a, "роутер")
        assert [i["id"] for i in body["items"]] == ["T-A"]
        fragments = " ".join(h["html"] for i in body["items"] for h in i["highlights"])
        assert "qwerty" not in fragments and "пароль" not in fragments
        assert all(h["field"] != "notes" for i in body["items"] for h in i["highlights"])
        assert (await search(http, client_a, "роутер", client_id="C-B"))["items"] == []  # a filter widens nothing
        nobody = bearer(gs, "stray", "client")  # a client token bound to no organisation
        assert (await search(http, nobody, "роутер"))["items"] == []

        # a stale (or corrupted) index putting team B's ticket in team A and client A: the gateway's own check drops it
        svc = desk.search.state.service
        state = await svc.store.load("T-B")
        await svc.engine.upsert([index_doc(state, People()).model_copy(
            update={"service_team_id": "A", "client_id": "C-A"})])
        assert (await search(http, ann, "ночь"))["total"] == 1  # the index was fooled
        assert (await search(http, ann, "ночь"))["items"] == []
        assert (await search(http, client_a, "ночь"))["items"] == []


async def test_hostile_and_huge_queries_are_text_or_a_422_never_a_500(infra: dict[str, str], tmp_path: Path) -> None:
    async with search_desk(infra, tmp_path / "index") as desk, desk.search_running(), desk.gateway() as (http, gs):
        await desk.send("T-A", opening("Обычная заявка", client=TEAM_A))
        await desk.send("T-A", t.AddNote(author_id="ann", text="перезвонить вечером"))
        client_a = bearer(gs, "alpha-user", "client", client_id="C-A")
        admin = bearer(gs, "root", "administrator")
        await eventually(lambda: _ids(http, admin, "перезвонить", {"T-A"}), timeout=WAIT, message="indexed")
        for q in HOSTILE:
            resp = await http.get("/api/v1/search", params={"q": q}, headers=client_a)
            assert resp.status_code in (200, 422), (q, resp.status_code, resp.text)
            if resp.status_code == 200:  # treated as text: the note's word is still out of a client's reach
                assert all(h["field"] != "notes" for i in resp.json()["items"] for h in i["highlights"]), q
        for params in ({"q": "x" * 501}, {"q": " ".join(["слово"] * 40)}, {"q": ""}, {"q": "   "},
                       {"q": "a", "limit": 10_000}, {"q": "a", "created_from": "yesterday"}, {"q": "a", "status": "x"}):
            resp = await http.get("/api/v1/search", params=params, headers=admin)
            assert resp.status_code == 422, (params, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
        assert (await http.get("/api/v1/search", params={"q": "a"})).status_code == 401


async def test_search_away_is_a_503_problem(infra: dict[str, str], tmp_path: Path) -> None:
    async with search_desk(infra, tmp_path / "index") as desk:
        from services.gateway.app import create_app as gateway_app
        from services.gateway.settings import GatewaySettings
        from tests.support.testing import make_settings, running

        settings = make_settings(GatewaySettings, desk.env, search_url="http://127.0.0.1:9")
        app = gateway_app(settings)
        async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as h:
            resp = await h.get("/api/v1/search", params={"q": "x"}, headers=bearer(settings, "root", "administrator"))
            assert resp.status_code == 503 and resp.headers["retry-after"], resp.text
            assert resp.headers["content-type"].startswith("application/problem+json")


async def _ids(http: httpx.AsyncClient, headers: dict[str, str], q: str, want: set[str]) -> bool:
    resp = await http.get("/api/v1/search", params={"q": q}, headers=headers)
    return resp.status_code == 200 and {i["id"] for i in resp.json()["items"]} == want
