"""Attack replays: forged list cursors (MongoDB operators, huge numbers, other keys, other roles) and bearer
tokens without a bounded lifetime, against the real gateway, ledger, broker and database."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from integration.gateway.gateway_support import stack

from services.gateway.access.cursors import CursorCodec
from services.gateway.queries.queues import SortField
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from shared.runtime.problems import PROBLEM_JSON
from tests.support.desk import Desk

C1 = ClientRef(client_id="C-1", service_team_id="A")
C2 = ClientRef(client_id="C-2", service_team_id="B")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        await s.seed([(f"K{i}", t.OpenTicket(channel=Channel.web, client=C1 if i % 2 else C2)) for i in range(6)])
        yield s


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    return body


def unsigned(*parts: Any) -> str:
    """The cursor layout before signing: base64 of [field, direction, value, last id]."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


OPERATORS: list[Any] = [{"$ne": None}, {"$exists": True}, {"$where": "sleep(100) || true"}, 10**40,
                        {"$gt": ""}]


@pytest.mark.parametrize("role", ["administrator", "specialist", "client"])
async def test_forged_cursors_get_400_problems_and_reach_no_filter(gw: Desk, role: str) -> None:
    headers = gw.token("u1", role, teams=["A"], client_id="C-1")
    forged = [unsigned("created_at", -1, op, "K1") for op in OPERATORS]
    forged += [unsigned("created_at", -1, {"$dt": "2026-03-02T10:00:00+00:00"}, {"$ne": None})]
    forged += [CursorCodec(b"an attacker's own key, 32 bytes!!").encode({"_id": "K1", "created_at": gw.clock.now()},
                                                                       SortField.created_at, -1, f"{role}:u1")]
    for cursor in forged:
        body = problem(await gw.http.get("/api/v1/tickets", params={"cursor": cursor}, headers=headers), 400)
        assert "cursor" in body["detail"]
    sort_by_number = [unsigned("number", 1, op, "K1") for op in OPERATORS]
    for cursor in sort_by_number:
        problem(await gw.http.get("/api/v1/tickets", params={"cursor": cursor, "sort": "number", "order": 1},
                                  headers=headers), 400)


async def test_a_cursor_works_for_its_holder_only(gw: Desk) -> None:
    admin = gw.token("root", "administrator")
    first = await gw.http.get("/api/v1/tickets", params={"limit": 2}, headers=admin)
    assert first.status_code == 200 and len(first.json()["items"]) == 2
    cursor = first.json()["next_cursor"]
    second = await gw.http.get("/api/v1/tickets", params={"limit": 2, "cursor": cursor}, headers=admin)
    assert second.status_code == 200
    assert {i["id"] for i in second.json()["items"]}.isdisjoint({i["id"] for i in first.json()["items"]})
    for other in (gw.token("root", "client", client_id="C-1"), gw.token("root", "specialist", teams=["A"]),
                  gw.token("ann", "administrator")):
        body = problem(await gw.http.get("/api/v1/tickets", params={"limit": 2, "cursor": cursor},
                                         headers=other), 400)
        assert "someone else" in body["detail"]


def test_bad_cursors_are_documented(gw: Desk) -> None:
    paths = gw.app.openapi()["paths"]
    for path in ("/api/v1/tickets", "/api/v1/queues/{queue}"):
        assert PROBLEM_JSON in paths[path]["get"]["responses"]["400"]["content"]


async def test_tokens_beyond_the_maximum_lifetime_or_without_iat_get_401(gw: Desk) -> None:
    now = int(gw.clock.now().timestamp())
    base = {"sub": "root", "role": "administrator", "iss": gw.settings.jwt_issuer}
    cap = gw.settings.max_token_lifetime_seconds

    def call(claims: dict[str, Any]) -> Any:
        token = jwt.encode(claims, gw.settings.jwt_secret, algorithm="HS256")
        return gw.http.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})

    assert (await call({**base, "iat": now, "exp": now + cap})).status_code == 200
    for claims in ({**base, "iat": now, "exp": now + cap + 1}, {**base, "iat": now, "exp": now + 10 * 365 * 86400},
                   {**base, "exp": now + 600}, {**base, "iat": now + 30 * 86400, "exp": now + 30 * 86400 + 60}):
        resp = await call(claims)
        problem(resp, 401)
        assert resp.headers["www-authenticate"].startswith("Bearer")
