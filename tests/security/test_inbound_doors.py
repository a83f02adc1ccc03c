"""Attack replay (issue 16, items 6, 9, 11, 12, 15, 17): intake's doors, on the real broker and database.

Webhooks, ``/inbound`` and attachment uploads took anything from anyone; oversize, out-of-range and
header-injecting messages were answered 202 and then dropped or trusted. Each door now authenticates its kind of
sender (channel HMAC signature, API key, public form behind a per-IP rate limit and a CAPTCHA hook), every sender
has a quota, and a message that could not be processed is a 4xx problem before anything is published.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from integration.intake.intake_support import IntakeDesk, stack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.contracts.topics import INBOUND_MESSAGES
from tests.support.testing import Tap, eventually, make_settings, serving

CHAT_SECRET = "chat-integration-secret-0123456789"
CRM_KEY = "crm-api-key-0123456789abcdef"
REMOTE = ("203.0.113.7", 40000)
PROBLEM = "application/problem+json"
OK = {"channel": "web", "external_id": "ok-1", "sender": {"email": "anna@acme.example"}, "text": "hello"}


def chat(n: int, user: str = "anna") -> dict[str, Any]:
    return {"platform": "tg", "session_id": f"s-{n}", "message_id": f"m-{n}", "user": {"id": user}, "text": "hi"}


def signed(body: bytes, secret: str = CHAT_SECRET, at: float | None = None) -> dict[str, str]:
    """What a channel integration sends: HMAC-SHA256 over "<timestamp>." + the raw body."""
    ts = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Frontline-Timestamp": ts, "X-Frontline-Signature": f"sha256={mac}", "content-type": "application/json"}


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
    return dict(resp.json())


@asynccontextmanager
async def remote(s: IntakeDesk, client: tuple[str, int] = REMOTE) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=s.app, client=client)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as http:
        yield http


async def test_channel_webhooks_refuse_unsigned_forged_and_replayed_requests(env: dict[str, str]) -> None:
    async with stack(env, webhook_secrets={"chat": CHAT_SECRET}) as s, remote(s) as http:
        body = json.dumps(chat(1)).encode()
        attacks = {
            "unsigned": {"content-type": "application/json"},
            "forged": signed(body, secret="not-the-secret-0123456789"),
            "replayed": signed(body, at=time.time() - 3600),  # a captured request, an hour later
            "from the future": signed(body, at=time.time() + 3600),
            "other body": signed(json.dumps(chat(2)).encode()),
            "malformed": {**signed(body), "X-Frontline-Signature": "md5=abc"},
        }
        for name, headers in attacks.items():
            refused = problem(await http.post("/api/v1/webhooks/chat", content=body, headers=headers), 401)
            assert refused["title"] == "Unauthorized", (name, refused)
        # a configured door holds for loopback callers too
        problem(await s.http.post("/api/v1/webhooks/chat", json=chat(1)), 401)
        ok = await http.post("/api/v1/webhooks/chat", content=body, headers=signed(body))
        assert ok.status_code == 202, ok.text
        opened = await s.wait_tickets(1, timeout=60)
        assert [t["channel"] for t in opened] == ["chat"]
        # a door nobody configured answers only loopback callers in development
        call = {"call_id": "c-1", "caller": "+79120000001"}
        problem(await http.post("/api/v1/webhooks/call", json=call), 401)
        assert (await s.http.post("/api/v1/webhooks/call", json=call)).status_code == 202


async def test_inbound_needs_an_api_key(env: dict[str, str]) -> None:
    async with stack(env, api_keys={"crm": CRM_KEY}) as s, remote(s) as http:
        problem(await http.post("/api/v1/inbound", json=OK), 401)
        problem(await http.post("/api/v1/inbound", json=OK, headers={"X-API-Key": CRM_KEY + "x"}), 401)
        problem(await s.http.post("/api/v1/inbound", json=OK), 401)  # loopback is no key
        resp = await http.post("/api/v1/inbound", json=OK, headers={"X-API-Key": CRM_KEY})
        assert resp.status_code == 202, resp.text
        await s.wait_tickets(1, timeout=60)


async def test_unconfigured_doors_refuse_in_production(env: dict[str, str]) -> None:
    settings = make_settings(IntakeSettings, env, environment="production", service_token="t" * 32,
                             command_key="k" * 32)
    app = create_app(settings)  # refused at the door: nothing is started or published
    for client in (REMOTE, ("127.0.0.1", 5000)):
        transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            for path, body in [("/api/v1/inbound", OK), ("/api/v1/webhooks/chat", chat(1)),
                               ("/api/v1/webhooks/form", {"submission_id": "f", "text": "x"})]:
                refused = problem(await http.post(path, json=body), 503)
                assert "not configured" in refused["detail"], refused
            problem(await http.post("/api/v1/attachments", files={"file": ("a.txt", b"abc")}), 503)




@asynccontextmanager
async def captcha_server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A stand-in for the CAPTCHA provider's verify endpoint: the token "human" passes."""
    seen: list[dict[str, str]] = []

    async def verify(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        seen.append(form)
        return JSONResponse({"success": form.get("secret") == "captcha-secret" and form.get("response") == "human"})

    async with serving(Starlette(routes=[Route("/verify", verify, methods=["POST"])])) as url:
        yield url + "/verify", seen


async def test_public_form_is_rate_limited_per_ip_and_checks_the_captcha(env: dict[str, str]) -> None:
    async with captcha_server() as (verify_url, seen), \
            stack(env, form_public=True, form_burst=2, form_rate_per_minute=0.5, captcha_verify_url=verify_url,
                  captcha_secret="captcha-secret") as s, remote(s) as http:
        def form(n: int) -> dict[str, Any]:
            return {"submission_id": f"f-{n}", "email": f"c{n}@client.example", "text": "hello"}

        human = {"X-Captcha-Token": "human"}
        problem(await http.post("/api/v1/webhooks/form", json=form(0)), 403)  # no token
        assert (await http.post("/api/v1/webhooks/form", json=form(1), headers=human)).status_code == 202
        limited = await http.post("/api/v1/webhooks/form", json=form(2), headers=human)
        problem(limited, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 120, limited.headers
        assert seen[-1] == {"secret": "captcha-secret", "response": "human", "remoteip": REMOTE[0]}
        async with remote(s, ("203.0.113.8", 1)) as other:  # each address has a bucket of its own
            problem(await other.post("/api/v1/webhooks/form", json=form(3), headers={"X-Captcha-Token": "bot"}), 403)
            assert (await other.post("/api/v1/webhooks/form", json=form(4), headers=human)).status_code == 202
        await s.wait_tickets(2, timeout=60)


async def test_each_sender_has_a_quota(env: dict[str, str]) -> None:
    async with stack(env, sender_quota=3, sender_quota_window_seconds=600) as s:
        for n in range(3):
            resp = await s.http.post("/api/v1/webhooks/chat", json=chat(n, user="greta"))
            assert resp.status_code == 202, resp.text
        over = await s.http.post("/api/v1/webhooks/chat", json=chat(9, user="greta"))
        assert problem(over, 429)["title"] == "Too Many Requests"
        assert 1 <= int(over.headers["retry-after"]) <= 600
        assert (await s.http.post("/api/v1/webhooks/chat", json=chat(10, user="boris"))).status_code == 202


async def test_uploads_need_door_auth_and_have_a_size_quota(env: dict[str, str]) -> None:
    async with stack(env, api_keys={"crm": CRM_KEY}, webhook_secrets={"chat": CHAT_SECRET},
                     upload_quota_bytes=3000) as s, remote(s) as http:
        file = {"file": ("a.txt", b"a" * 1000)}
        problem(await http.post("/api/v1/attachments", files=file), 401)
        problem(await http.post("/api/v1/attachments", files=file, headers={"X-API-Key": "wrong"}), 401)
        key = {"X-API-Key": CRM_KEY}
        for n in range(3):
            resp = await http.post("/api/v1/attachments", files={"file": (f"{n}.txt", b"a" * 1000)}, headers=key)
            assert resp.status_code == 201, resp.text
        over = await http.post("/api/v1/attachments", files={"file": ("x.txt", b"b" * 10)}, headers=key)
        problem(over, 429)
        assert int(over.headers["retry-after"]) >= 1
        # a channel integration signs the file itself
        data = b"signed attachment"
        sig = {k: v for k, v in signed(data).items() if k != "content-type"}
        resp = await http.post("/api/v1/attachments", files={"file": ("s.txt", data)}, headers=sig)
        assert resp.status_code == 201, resp.text
        # the signature covers the timestamp: another second, even an honest one, breaks it
        forged = {**sig, "X-Frontline-Timestamp": str(int(sig["X-Frontline-Timestamp"]) - 1)}
        problem(await http.post("/api/v1/attachments", files={"file": ("s.txt", data)}, headers=forged), 401)


def invalid_messages() -> dict[str, tuple[str, bytes, int]]:
    """name → (path, raw body, status): each would have been answered 202 and then dropped or trusted."""
    def raw(obj: Any) -> bytes:
        return json.dumps(obj).encode()

    fields = {f"f{i:06d}": 1 for i in range(100_000)}
    return {
        "int64 overflow in call": ("/api/v1/inbound", raw({**OK, "call": {"duration_seconds": 2**63}}), 422),
        "int64 overflow in a call event": ("/api/v1/webhooks/call", raw({"call_id": "c", "caller": "+79120000001",
                                                                         "duration_seconds": 2**64}), 422),
        "int64 attachment size": ("/api/v1/inbound", raw({**OK, "attachments": [
            {"id": "a", "filename": "f", "size": 2**64}]}), 422),
        "120,000 references": ("/api/v1/inbound", raw({**OK, "references": [f"<{i}@x.ex>" for i in range(120_000)]}),
                               422),
        "CRLF message id": ("/api/v1/inbound", raw({**OK, "email_message_id": "<a@b.example>\r\nBcc: x@y.example"}),
                            422),
        "CRLF reference": ("/api/v1/inbound", raw({**OK, "references": ["<a@b.example>\r\nX: y"]}), 422),
        "200-char chat user id": ("/api/v1/webhooks/chat", raw({**chat(1), "user": {"id": "u" * 199}}), 422),
        "200-char bot user id": ("/api/v1/webhooks/bot", raw({"bot": "helper", "conversation_id": "c",
                                                              "message_id": "m", "user": {"id": "u" * 195}}), 422),
        "100,000 unknown fields": ("/api/v1/inbound", raw({**OK, **fields}), 422),
        "bad JSON": ("/api/v1/inbound", b'{"channel": "web", "external_id": 1' + b"0" * 5000 + b"}", 422),
        "bad UTF-8": ("/api/v1/webhooks/chat", b"\xff\xfe{}", 422),
        "deep nesting": ("/api/v1/webhooks/form", b"[" * 3000 + b"]" * 3000, 422),
        "message over the topic's limit": ("/api/v1/inbound", raw({**OK, "classification": {"topic": "x" * 1_200_000}}),
                                           413),
    }


async def test_messages_that_cannot_be_processed_are_refused_before_publishing(env: dict[str, str]) -> None:
    async with stack(env) as s, Tap(s.settings, INBOUND_MESSAGES, raw=True) as inbound:
        for name, (path, body, status) in invalid_messages().items():
            t0 = time.perf_counter()
            resp = await s.http.post(path, content=body, headers={"content-type": "application/json"})
            refused = problem(resp, status)
            assert len(resp.content) < 4_000, (name, len(resp.content))
            assert len(refused.get("errors", [])) <= 20, name
            print(f"{name}: {status}, {len(resp.content)} bytes in {time.perf_counter() - t0:.3f} s")
        control = await s.http.post("/api/v1/inbound", json=OK)
        assert control.status_code == 202, control.text
        await s.wait_tickets(1, timeout=60)
        await eventually(lambda: inbound.items, timeout=30, message="the control message on inbound.messages")
        assert [json.loads(r.value)["external_id"] for r in inbound.items] == ["ok-1"]
    doc = s.app.openapi()
    for path in ("/api/v1/inbound", "/api/v1/webhooks/form", "/api/v1/webhooks/chat", "/api/v1/webhooks/call",
                 "/api/v1/webhooks/bot", "/api/v1/attachments"):
        responses = doc["paths"][path]["post"]["responses"]
        assert {"401", "413", "422", "429", "503"} <= set(responses), (path, sorted(responses))
        assert PROBLEM in responses["422"]["content"] and "400" not in responses, path
