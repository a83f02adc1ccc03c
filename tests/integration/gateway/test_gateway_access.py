"""Role scoping, tokens (ours, OIDC via JWKS), API keys, live updates and the directories API."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_support import ids, stack

from services.gateway.access.auth import mint_token
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk
from tests.support.testing import eventually
from tools.infra import free_port

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    return {**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}


class _Jwks(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        body = json.dumps({"keys": [_jwk()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", free_port()), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(infra: dict[str, str], jwks_url: str) -> AsyncIterator[Desk]:
    async with stack(infra, jwks_url=jwks_url, oidc_issuer="https://idp.example", oidc_audience="frontline") as s:
        await s.seed([
            ("TA", t.OpenTicket(channel=Channel.web, line="first", client=ClientRef(client_id="C-1",
                                                                                 service_team_id="A"))),
            ("TB", t.OpenTicket(channel=Channel.web, line="first", client=ClientRef(client_id="C-2",
                                                                                 service_team_id="B"))),
            ("TN", t.OpenTicket(channel=Channel.web, line="second")),
            ("TA", t.AddNote(author_id="ann", text="internal remark")),
        ])
        yield s


async def test_specialist_cannot_read_other_teams_ticket(gw: Desk) -> None:
    ann, carol = gw.token("ann", "specialist"), gw.token("carol", "specialist")
    assert (await gw.http.get("/api/v1/tickets/TA", headers=ann)).status_code == 200
    denied = await gw.http.get("/api/v1/tickets/TB", headers=ann)
    assert denied.status_code == 404 and denied.headers["content-type"].startswith("application/problem+json")
    assert (await gw.http.get("/api/v1/tickets/TA", headers=carol)).status_code == 404
    # both are first-line specialists, yet each list holds only their own team's ticket
    assert ids(await gw.http.get("/api/v1/tickets", headers=ann)) == {"TA"}
    assert ids(await gw.http.get("/api/v1/tickets", headers=carol)) == {"TB"}
    # actions on a ticket out of scope are refused the same way, and never reach the ledger
    assert (await gw.http.post("/api/v1/tickets/TB/notes", json={"text": "x"}, headers=ann)).status_code == 404
    # a second-line specialist sees the unteamed second-line ticket by line
    second = gw.token("sam", "specialist", lines=["second"])
    assert ids(await gw.http.get("/api/v1/tickets", headers=second)) == {"TN"}
    assert ids(await gw.http.get("/api/v1/tickets", headers=gw.token("root", "administrator"))) == {"TA", "TB", "TN"}


async def test_client_sees_only_own_tickets_without_internal_notes(gw: Desk) -> None:
    c1, c2 = gw.token("u1", "client", client_id="C-1"), gw.token("u2", "client", client_id="C-2")
    mine = await gw.http.get("/api/v1/tickets/TA", params={"history": True}, headers=c1)
    assert mine.status_code == 200
    assert "NoteAdded" not in [h["type"] for h in mine.json()["history"]]
    assert (await gw.http.get("/api/v1/tickets/TA", headers=c2)).status_code == 404
    assert ids(await gw.http.get("/api/v1/tickets", headers=c2)) == {"TB"}
    assert (await gw.http.post("/api/v1/tickets/TA/notes", json={"text": "x"}, headers=c1)).status_code == 403
    opened = await gw.http.post("/api/v1/portal/tickets", json={"subject": "Invoice", "text": "charged twice"},
                                headers=c1)
    assert opened.status_code == 200, opened.text
    ticket = opened.json()
    assert ticket["client"]["client_id"] == "C-1" and ticket["history"] is None and ticket["message_count"] == 1
    wrote = await gw.http.post(f"/api/v1/portal/tickets/{ticket['id']}/messages", json={"text": "any news?"},
                               headers=c1)
    assert wrote.status_code == 200 and wrote.json()["message_count"] == 2
    assert (await gw.http.post(f"/api/v1/portal/tickets/{ticket['id']}/messages", json={"text": "hack"},
                               headers=c2)).status_code == 404
    history = (await gw.http.get(f"/api/v1/tickets/{ticket['id']}", params={"history": True}, headers=c1)).json()
    assert {h["actor"] for h in history["history"]} == {"u1"}


async def test_tokens_are_checked(gw: Desk) -> None:
    missing = await gw.http.get("/api/v1/tickets")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert (await gw.http.get("/api/v1/tickets", headers={"Authorization": "Bearer junk"})).status_code == 401
    forged = jwt.encode({"sub": "root", "role": "administrator", "exp": 4_000_000_000, "iss": "frontline"},
                        "not-our-key-but-long-enough-for-hs256-signing", algorithm="HS256")
    assert (await gw.http.get("/api/v1/tickets", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
    expired = mint_token(gw.settings, "ann", "specialist", clock=gw.clock, ttl_seconds=1)
    gw.clock.advance(gw.settings.clock_skew_seconds + 5)
    assert (await gw.http.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})).status_code == 401
    no_role = mint_token(gw.settings, "x", "specialist", clock=gw.clock, extra={"role": "janitor"})
    assert (await gw.http.get("/api/v1/me", headers={"Authorization": f"Bearer {no_role}"})).status_code == 401


async def test_oidc_token_validated_against_jwks(gw: Desk) -> None:
    now = int(gw.clock.now().timestamp())
    claims = {"sub": "ann", "iss": "https://idp.example", "aud": "frontline", "iat": now, "exp": now + 300,
              "realm_access": {"roles": ["specialist", "offline_access"]}}
    token = jwt.encode(claims, RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
    me = await gw.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["via"] == "oidc" and me.json()["team_ids"] == ["A"]  # enriched from the agent directory
    before = _Jwks.hits
    assert (await gw.http.get("/api/v1/tickets/TA", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert _Jwks.hits == before  # cached
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"}),
                jwt.encode({**claims, "aud": "someone-else"}, RSA_KEY, algorithm="RS256", headers={"kid": "k1"}),
                jwt.encode(claims, RSA_KEY, algorithm="RS256", headers={"kid": "unknown"})):
        assert (await gw.http.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})).status_code == 401


async def test_api_keys_issue_use_revoke(gw: Desk) -> None:
    admin = gw.token("root", "administrator")
    assert (await gw.http.post("/api/v1/admin/api-keys", json={"name": "crm"},
                               headers=gw.token("ann", "specialist"))).status_code == 403
    created = await gw.http.post("/api/v1/admin/api-keys", json={"name": "crm", "role": "client",
                                                                 "client_id": "C-2"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["api_key"].startswith("flk_")
    listing = await gw.http.get("/api/v1/admin/api-keys", headers=admin)
    assert [k["name"] for k in listing.json()] == ["crm"] and "api_key" not in listing.json()[0]
    as_system = {"X-API-Key": key["api_key"]}
    assert ids(await gw.http.get("/api/v1/tickets", headers=as_system)) == {"TB"}
    assert (await gw.http.get("/api/v1/me", headers=as_system)).json()["user_id"] == "system:crm"
    assert (await gw.http.delete(f"/api/v1/admin/api-keys/{key['key_id']}", headers=admin)).status_code == 204
    assert (await gw.http.get("/api/v1/tickets", headers=as_system)).status_code == 401


async def test_live_updates_stream_only_the_callers_scope(gw: Desk) -> None:
    carol = gw.token("carol", "specialist")
    subs_before = len(gw.app.state.ctx.hub._subscribers)

    async def listen() -> str:
        resp = await gw.http.get("/api/v1/stream", params={"max_events": 2, "max_seconds": 20}, headers=carol)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        return resp.text

    task = asyncio.create_task(listen())
    await eventually(lambda: len(gw.app.state.ctx.hub._subscribers) > subs_before, message="subscribed")
    ann = gw.token("ann", "specialist")
    assert (await gw.http.post("/api/v1/tickets/TA/notes", json={"text": "team A only"}, headers=ann)).status_code \
        == 200
    admin = gw.token("root", "administrator")
    assert (await gw.http.post("/api/v1/tickets/TB/notes", json={"text": "for B"}, headers=admin)).status_code == 200
    assert (await gw.http.post("/api/v1/tickets/TB/callbacks", json={"answered": True},
                               headers=admin)).status_code == 200
    text = await asyncio.wait_for(task, 20)
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert [(e["ticket_id"], e["type"]) for e in events] == [("TB", "NoteAdded"), ("TB", "CallbackLogged")]
    assert events[0]["actor"] == "root" and "event: NoteAdded" in text


async def test_directories_validated_versioned_audited(gw: Desk) -> None:
    admin = gw.token("root", "administrator")
    catalogue = await gw.http.get("/api/v1/admin/directories", headers=admin)
    assert {"lines", "agents", "teams", "groups", "services"} <= {d["name"] for d in catalogue.json()}
    assert (await gw.http.get("/api/v1/admin/directories", headers=gw.token("lea", "team_lead"))).status_code == 403
    url = "/api/v1/admin/directories/lines/fourth"
    created = await gw.http.put(url, json={"id": "fourth", "order": 4, "name": {"en": "Fourth"}}, headers=admin)
    assert created.status_code == 200, created.text
    assert created.headers["etag"] == '"1"' and created.json()["version"] == 1
    again = await gw.http.put(url, json={"id": "fourth", "order": 4}, headers=admin)
    assert again.status_code == 409  # creating without If-Match never overwrites
    stale = await gw.http.put(url, json={"id": "fourth", "order": 5}, headers={**admin, "If-Match": '"7"'})
    assert stale.status_code == 409 and stale.json()["title"] == "Version conflict"
    updated = await gw.http.put(url, json={"id": "fourth", "order": 5}, headers={**admin, "If-Match": '"1"'})
    assert updated.status_code == 200 and updated.json()["data"]["order"] == 5 and updated.json()["version"] == 2
    invalid = await gw.http.put(url, json={"id": "fourth", "order": "high"}, headers={**admin, "If-Match": "*"})
    assert invalid.status_code == 422 and invalid.headers["content-type"].startswith("application/problem+json")
    mismatch = await gw.http.put(url, json={"id": "fifth", "order": 5}, headers={**admin, "If-Match": "*"})
    assert mismatch.status_code == 422
    got = await gw.http.get(url, headers=admin)
    assert got.json()["data"]["order"] == 5 and got.headers["etag"] == '"2"'
    page = await gw.http.get("/api/v1/admin/directories/lines", params={"limit": 2}, headers=admin)
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    assert (await gw.http.delete(url, headers={**admin, "If-Match": '"1"'})).status_code == 409
    assert (await gw.http.delete(url, headers=admin)).status_code == 204
    assert (await gw.http.get(url, headers=admin)).status_code == 404
    audit = (await gw.http.get("/api/v1/admin/directories/lines/audit", params={"key": "fourth"},
                               headers=admin)).json()["items"]
    assert [(a["action"], a.get("version"), a["actor"]) for a in audit] == [
        ("delete", None, "root"), ("put", 2, "root"), ("put", 1, "root")]


async def test_report_routes_are_scoped_and_export(gw: Desk) -> None:
    period = {"period_start": "2026-03-01T00:00:00Z", "period_end": "2026-03-03T00:00:00Z"}
    admin, lea = gw.token("root", "administrator"), gw.token("lea", "team_lead")
    everything = await gw.http.get("/api/v1/reports/channels", params=period, headers=admin)
    assert everything.status_code == 200, everything.text
    team_a = (await gw.http.get("/api/v1/reports/channels", params=period, headers=lea)).json()
    base = {"TA", "TB", "TN"}
    seen_admin = everything.json()["total"]
    assert seen_admin >= len(base) and team_a["total"] < seen_admin  # the lead counts team A's tickets only
    assert (await gw.http.get("/api/v1/reports/channels", params=period,
                              headers=gw.token("ann", "specialist"))).status_code == 403
    bad = await gw.http.get("/api/v1/reports/channels", headers=admin,
                            params={"period_start": "2026-03-03T00:00:00Z", "period_end": "2026-03-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    csv = await gw.http.get("/api/v1/reports/channels", params={**period, "format": "csv"}, headers=admin)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"] and "web" in csv.text
    xlsx = await gw.http.get("/api/v1/reports/workload", params={**period, "format": "xlsx", "lang": "ru"},
                             headers=admin)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    history = await gw.http.get("/api/v1/tickets/TA/history/export", headers=admin)
    assert history.status_code == 200 and "TicketOpened" in history.text and "NoteAdded" in history.text
    assert (await gw.http.get("/api/v1/tickets/TA/history/export",
                              headers=gw.token("carol", "specialist"))).status_code == 404
