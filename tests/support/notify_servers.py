"""Real servers notify talks to: an aiosmtpd SMTP server, and our local server speaking Twilio's Messages
API (with signed StatusCallback delivery reports) and a chat platform's conversation webhook."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.notify.sms import signature
from services.notify.sms_text import segments
from tests.support.testing import serving
from tools.infra import free_port

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-auth-token"


class MailSink:
    """aiosmtpd handler: keeps every accepted message parsed; can refuse recipients or stall."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.stall = threading.Event()  # set → DATA waits until released
        self.release = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall.is_set():  # a server that hangs on DATA until the test releases it
            await asyncio.to_thread(self.release.wait, 60)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(msg)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    def recipients(self) -> set[str]:
        with self._lock:
            return {a.lower() for m in self.messages for a in m["X-Envelope-To"].split(",")}


class SmtpServer:
    def __init__(self) -> None:
        self.sink = MailSink()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class Providers:
    """Our stand-in for Twilio and a chat platform, speaking their HTTP APIs."""

    port: int = 0
    sms: list[dict[str, str]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    reports: list[int] = field(default_factory=list)  # status codes notify answered our callbacks with
    chat_status: int = 200
    undeliverable: set[str] = field(default_factory=set)  # accepted, then reported "undelivered"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                         "status": status}, status_code=status)


def provider_app(p: Providers) -> Starlette:
    async def messages(request: Request) -> Response:
        account = request.path_params["account"]
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if account != TWILIO_SID or auth != expected:
            return _twilio_error(401, 20003, "Authenticate")
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("Body"):
            return _twilio_error(400, 21602, "Message body is required.")
        if not E164.match(form.get("To", "")):
            return _twilio_error(400, 21211, f"The 'To' number {form.get('To')} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        sid = "SM" + uuid.uuid4().hex
        p.sms.append({**form, "sid": sid})
        callback = form.get("StatusCallback")
        if callback:
            final = "undelivered" if form["To"] in p.undeliverable else "delivered"
            asyncio.get_running_loop().create_task(_report(p, callback, sid, form, final))
        return JSONResponse({"sid": sid, "account_sid": account, "to": form["To"], "from": form.get("From"),
                             "body": form["Body"], "status": "queued", "num_segments": str(segments(form["Body"])
                                                                                            .segments),
                             "direction": "outbound-api", "api_version": "2010-04-01", "error_code": None,
                             "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"}, status_code=201)

    async def chat(request: Request) -> Response:
        body = await request.json()
        p.chat.append({**body, "path_conversation": request.path_params["cid"],
                       "idempotency_key": request.headers.get("idempotency-key")})
        return JSONResponse({"ok": p.chat_status < 300}, status_code=p.chat_status)

    return Starlette(routes=[
        Route("/2010-04-01/Accounts/{account}/Messages.json", messages, methods=["POST"]),
        Route("/webhooks/conversations/{cid}/messages", chat, methods=["POST"]),
    ])


async def _report(p: Providers, url: str, sid: str, form: dict[str, str], final: str) -> None:
    async with httpx.AsyncClient() as client:
        for status in ("sent", final):
            await asyncio.sleep(0.05)
            params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": form.get("From", ""),
                      "To": form["To"], "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01"}
            if status == "undelivered":
                params["ErrorCode"] = "30003"
            resp = await client.post(url, data=params,
                                     headers={"X-Twilio-Signature": signature(TWILIO_TOKEN, url, params)})
            p.reports.append(resp.status_code)


@contextlib.asynccontextmanager
async def serve_http(app: Any, port: int) -> AsyncIterator[None]:
    """Run an ASGI app (and its lifespan) on a real port inside the test's event loop."""
    async with serving(app, lifespan="on", port=port):
        yield



# ---- fixtures: conftest files that need these servers import them ----------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real aiosmtpd server per test; the test reads what it received."""
    server = SmtpServer()
    server.start()
    yield server
    server.sink.release.set()
    server.stop()


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    """Our Twilio / chat-webhook stand-in per test."""
    p = Providers(port=free_port())
    async with serve_http(provider_app(p), p.port):
        yield p
