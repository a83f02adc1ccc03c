"""Hostile HTTP input on intake and the gateway, over real sockets: no 5xx, clear RFC 9457 problems, nothing
from another scope.

schemathesis fuzzes intake's OpenAPI (the gateway's is fuzzed by tests/integration/gateway); oversize bodies
are refused with 413 before they are read (with and without a Content-Length); malformed bodies, bad, expired
and forged credentials, and other teams' and clients' ticket ids get 4xx problems that leak nothing, and none of
them sends a command to the ledger.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest_asyncio
import schemathesis
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from integration.gateway.gateway_support import stack
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk
from tests.support.testing import make_settings, running, serving
from tools.infra import free_port

LIMIT = 8_000
PROBLEM = "application/problem+json"
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]




@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str]) -> AsyncIterator[tuple[Desk, str]]:
    async with stack(infra, action_wait_seconds=1.0, max_body_bytes=LIMIT) as s:
        await s.seed([
            ("TA", t.OpenTicket(channel=Channel.web, line="first", subject="secret A",
                                client=ClientRef(client_id="C-1", service_team_id="A"))),
            ("TB", t.OpenTicket(channel=Channel.web, line="first", subject="secret B",
                                client=ClientRef(client_id="C-2", service_team_id="B"))),
            ("TN", t.OpenTicket(channel=Channel.web, line="second", subject="secret N")),
        ])
        async with serving(s.app) as url:
            yield s, url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(infra: dict[str, str]) -> AsyncIterator[tuple[IntakeSettings, str]]:
    env = {**infra, "FRONTLINE_TOPIC_PREFIX": f"hostile{free_port()}.", "MONGODB_DB": f"hostile{free_port()}"}
    cfg = make_settings(IntakeSettings, env, max_body_bytes=LIMIT, max_attachment_bytes=LIMIT)
    async with running(tickets_app(make_settings(TicketsSettings, env))), running(app := intake_app(cfg)), \
            serving(app) as url:
        yield cfg, url


def is_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
    body = resp.json()
    assert body["status"] == status and body["title"] and body.get("type", "about:blank"), body
    return dict(body)


async def chunks(size: int) -> AsyncIterator[bytes]:
    """A JSON body streamed without a Content-Length (chunked)."""
    yield b'{"channel": "web", "text": "'
    for _ in range(size // 1000):
        yield b"x" * 1000
    yield b'"}'


# ---- intake -----------------------------------------------------------------------------------------


def _fuzz(base_url: str, doc: dict[str, Any]) -> tuple[list[str], Counter[int]]:
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        op = result.ok()

        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  derandomize=True)
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=base_url, timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation's failure, not just the first
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    return failures, statuses


async def test_schemathesis_on_intake(intake: tuple[IntakeSettings, str]) -> None:
    cfg, url = intake
    async with httpx.AsyncClient() as http:
        doc = (await http.get(url + "/openapi.json")).json()
    failures, statuses = await asyncio.to_thread(_fuzz, url, doc)
    assert not failures, "\n\n".join(failures)
    assert statuses[202] > 0 and statuses[422] > 0, statuses  # valid input accepted, invalid refused
    assert not [s for s in statuses if s >= 500], statuses


async def test_intake_refuses_oversize_and_malformed_bodies(intake: tuple[IntakeSettings, str]) -> None:
    _, url = intake
    ok = {"channel": "web", "external_id": "h-1", "sender": {"email": "h@x.example"}, "text": "hello"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        assert (await http.post("/api/v1/inbound", json=ok)).status_code == 202  # the control: a good one
        big = is_problem(await http.post("/api/v1/inbound", json={**ok, "text": "x" * LIMIT}), 413)
        assert big["limit"] == LIMIT and f"{LIMIT} bytes" in big["detail"]
        # no Content-Length: counted while streaming, refused once past the limit
        is_problem(await http.post("/api/v1/inbound", content=chunks(5 * LIMIT),
                                   headers={"content-type": "application/json"}), 413)
        is_problem(await http.post("/api/v1/attachments", files={"file": ("a.bin", b"0" * (2 * LIMIT))}), 413)
        is_problem(await http.post("/api/v1/webhooks/form", content=b"x" * (20 * LIMIT),
                                   headers={"content-type": "application/json"}), 413)
        for body, ctype in malformed():
            resp = await http.post("/api/v1/inbound", content=body, headers={"content-type": ctype})
            assert 400 <= resp.status_code < 500, (body[:60], resp.status_code, resp.text[:300])
            assert resp.headers["content-type"].startswith(PROBLEM), resp.headers


def malformed() -> list[tuple[bytes, str]]:
    return [
        (b"{not json", "application/json"), (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 3000 + b"]" * 3000, "application/json"),  # nested deeper than the parser recurses
        (b'{"channel": "web", "text": NaN}', "application/json"), (b"null", "application/json"),
        (b'{"channel": "web", "external_id": 1' + b"0" * 5000 + b"}", "application/json"),  # a huge integer
        (b'{"channel": "web"}', "text/plain"), (b"", "application/json"),
    ]


# ---- gateway ------------------------------------------------------------------------------------------


def bad_credentials(s: Desk) -> dict[str, dict[str, str]]:
    now = int(s.clock.now().timestamp())
    good = {"sub": "root", "role": "administrator", "iss": s.settings.jwt_issuer, "iat": now, "exp": now + 600}
    secret = s.settings.jwt_secret

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    valid = jwt.encode({**good, "role": "specialist"}, secret, algorithm="HS256")
    head, _, sig = valid.split(".")
    tampered = ".".join([head, base64.urlsafe_b64encode(json.dumps(good).encode()).rstrip(b"=").decode(), sig])
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "none": {}, "junk": bearer("junk"), "empty": {"Authorization": "Bearer"},
        "basic": {"Authorization": "Basic " + base64.b64encode(b"root:root").decode()},
        "forged": bearer(jwt.encode(good, "not-our-key-but-long-enough-for-hs256", algorithm="HS256")),
        "tampered": bearer(tampered),
        "alg none": bearer(jwt.encode(good, None, algorithm="none")),
        "expired": bearer(jwt.encode({**good, "exp": now - 3600}, secret, algorithm="HS256")),
        "not yet valid": bearer(jwt.encode({**good, "nbf": now + 3600}, secret, algorithm="HS256")),
        "other issuer": bearer(jwt.encode({**good, "iss": "evil"}, secret, algorithm="HS256")),
        "no exp": bearer(jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256")),
        "no sub": bearer(jwt.encode({k: v for k, v in good.items() if k != "sub"}, secret, algorithm="HS256")),
        "unknown role": bearer(jwt.encode({**good, "role": "janitor"}, secret, algorithm="HS256")),
        "RS256 without JWKS": bearer(jwt.encode(good, rsa_key, algorithm="RS256", headers={"kid": "k"})),
        "huge": bearer("a" * 12_000), "unknown API key": {"X-API-Key": "flk_" + "x" * 40},
    }


PROBES = [("GET", "/api/v1/tickets", None), ("GET", "/api/v1/tickets/TA?history=true", None),
          ("POST", "/api/v1/tickets/TA/notes", {"text": "x"}), ("GET", "/api/v1/me", None),
          ("GET", "/api/v1/queues/mine", None), ("GET", "/api/v1/admin/directories", None),
          ("POST", "/api/v1/tickets/bulk/status", {"ticket_ids": ["TA"], "action": "start"}),
          ("GET", "/api/v1/stream", None)]


async def test_bad_tokens_get_401_problems_and_reach_nothing(gw: tuple[Desk, str]) -> None:
    s, url = gw
    versions = {d["_id"]: d["version"] async for d in s.db.tickets.find({}, {"version": 1})}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        assert (await http.get("/api/v1/tickets", headers=s.token("root", "administrator"))).status_code == 200
        for name, headers in bad_credentials(s).items():
            for method, path, body in PROBES:
                resp = await http.request(method, path, json=body, headers=headers)
                problem = is_problem(resp, 401)
                assert resp.headers["www-authenticate"].startswith("Bearer"), (name, path)
                assert "secret" not in resp.text and problem["title"] == "Unauthorized", (name, path, problem)
    assert {d["_id"]: d["version"] async for d in s.db.tickets.find({}, {"version": 1})} == versions


async def test_gateway_refuses_oversize_and_malformed_bodies(gw: tuple[Desk, str]) -> None:
    s, url = gw
    ann = s.token("ann", "specialist")
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        # refused before the credentials are even looked at, so an anonymous caller cannot make it buffer
        is_problem(await http.post("/api/v1/tickets/TA/notes", content=b"x" * (50 * LIMIT),
                                   headers={"content-type": "application/json"}), 413)
        big = is_problem(await http.post("/api/v1/tickets/TA/notes", json={"text": "y" * LIMIT}, headers=ann), 413)
        assert big["limit"] == LIMIT
        is_problem(await http.post("/api/v1/tickets/TA/notes", content=chunks(5 * LIMIT),
                                   headers={**ann, "content-type": "application/json"}), 413)
        for body, ctype in malformed():
            resp = await http.post("/api/v1/tickets/TA/notes", content=body, headers={**ann, "content-type": ctype})
            assert 400 <= resp.status_code < 500, (body[:60], resp.status_code, resp.text[:300])
            assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
        note = await http.post("/api/v1/tickets/TA/notes", json={"text": "fits"}, headers=ann)
        assert note.status_code == 200, note.text  # the control: a body under the limit goes through
    history = (await s.db.tickets.find_one({"_id": "TA"}))["history"]
    assert [h["payload"]["text"] for h in history if h["type"] == "NoteAdded"] == ["fits"]


FOREIGN = {  # who → the seeded tickets outside their scope
    ("ann", "specialist", ()): ("TB", "TN"), ("carol", "specialist", ()): ("TA", "TN"),
    ("lea", "team_lead", ()): ("TB", "TN"), ("u2", "client", (("client_id", "C-2"),)): ("TA", "TN"),
    ("u0", "client", ()): ("TA", "TB", "TN"),
}
TICKET_PROBES = [("GET", "", None), ("GET", "?history=true", None), ("GET", "/history/export", None),
                 ("POST", "/notes", {"text": "x"}), ("POST", "/claim", None), ("POST", "/reply", {"text": "x"}),
                 ("POST", "/resolve", {"problem": "p", "solution": "s"}), ("POST", "/escalate", {}),
                 ("POST", "/reassign", {"agent_id": "bob"}), ("POST", "/link-client", {"client": {"client_id": "X"}})]


async def test_other_scopes_ticket_ids_look_like_missing_ones(gw: tuple[Desk, str]) -> None:
    s, url = gw
    versions = {d["_id"]: d["version"] async for d in s.db.tickets.find({}, {"version": 1})}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for (user, role, claims), foreign in FOREIGN.items():
            headers = s.token(user, role, **dict(claims))
            listed = (await http.get("/api/v1/tickets", headers=headers)).json()["items"]
            assert not {x["id"] for x in listed} & set(foreign), (user, listed)
            for tid in foreign:
                for method, suffix, body in [*TICKET_PROBES, ("POST", "portal", {"text": "x"})]:
                    path = ("/api/v1/portal/tickets/{}/messages" if suffix == "portal"
                            else f"/api/v1/tickets/{{}}{suffix}")
                    theirs = await http.request(method, path.format(tid), json=body, headers=headers)
                    missing = await http.request(method, path.format("T-nope"), json=body, headers=headers)
                    assert theirs.status_code in (403, 404), (user, method, path, theirs.status_code, theirs.text)
                    assert theirs.status_code == missing.status_code, (user, path, theirs.text, missing.text)
                    mine, nope = is_problem(theirs, theirs.status_code), is_problem(missing, missing.status_code)
                    assert mine["title"] == nope["title"], (mine, nope)
                    assert str(mine.get("detail")).replace(tid, "T-nope") == str(nope.get("detail")), (mine, nope)
                    assert "secret" not in theirs.text, theirs.text
            if role != "client":  # filters cannot widen the scope either
                for query in ("service_team_id=A", "service_team_id=B", "line=second", "client_id=C-1"):
                    items = (await http.get(f"/api/v1/tickets?{query}", headers=headers)).json()["items"]
                    assert not {x["id"] for x in items} & set(foreign), (user, query, items)
                bulk = await http.post("/api/v1/tickets/bulk/status", headers=headers,
                                       json={"ticket_ids": list(foreign), "action": "start"})
                assert {r["outcome"] for r in bulk.json()["results"]} == {"not_found"}, bulk.text
        other_queue = await http.get("/api/v1/queues/mine?agent_id=ann", headers=s.token("carol", "specialist"))
        is_problem(other_queue, 403)
    await asyncio.sleep(1.5)  # a command that slipped through would have been recorded by now
    assert {d["_id"]: d["version"] async for d in s.db.tickets.find({}, {"version": 1})} == versions
