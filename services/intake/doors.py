"""Who may come in through each of intake's doors (docs/security.md, "Inbound doors").

- chat, call, bot (and the form, when its portal back end signs): the channel integration's HMAC-SHA256 secret,
  ``X-Frontline-Signature: sha256=<hex>`` over ``<X-Frontline-Timestamp>.<raw body>``, the timestamp within
  ``signature_tolerance_seconds`` so a captured request cannot be replayed later (within the window a replay
  carries the same external id and adds nothing).
- ``/inbound``: other systems' API keys (``X-API-Key``).
- the public web form (``form_public``): anyone, per client address through a token bucket, then the CAPTCHA hook.
- attachments: an API key, a channel signature over the file's bytes, or the public form's limits; bytes per
  caller are metered by a quota. Every door meters messages per sender.

A door with nothing configured answers loopback callers only in development (the README's curl) and refuses
everyone with a 503 problem in production: the service still starts, so a desk may leave doors it does not use
unconfigured. Limits are in memory, per pod (doors_limits.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from pydantic import SecretStr

from shared.contracts.schemas.inbound import InboundMessage
from shared.runtime.clock import Clock
from shared.runtime.problems import ProblemError
from shared.runtime.service_auth import is_loopback

from .doors_auth import BadCredentials, api_key_owner, client_address, signature_owner
from .doors_captcha import CaptchaUnavailable, verify_captcha
from .doors_limits import Limited, TokenBuckets, WindowQuota
from .settings import IntakeSettings

log = logging.getLogger("intake.doors")

Door = Literal["inbound", "form", "chat", "call", "bot", "attachments"]
WEBHOOK_DOORS: tuple[Door, ...] = ("form", "chat", "call", "bot")


@dataclass(frozen=True)
class Caller:
    kind: Literal["api_key", "signature", "public", "loopback"]
    name: str  # the system or integration, or the client's address

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail)


def too_many(detail: str, exc: Limited) -> ProblemError:
    return ProblemError(429, "Too Many Requests", detail, headers={"Retry-After": str(exc.retry_after)},
                        retry_after=exc.retry_after)


class Doors:
    def __init__(self, settings: IntakeSettings, clock: Clock) -> None:
        self.settings = settings

        def now() -> float:
            return clock.now().timestamp()

        self.now = now
        self.form_buckets = TokenBuckets(settings.form_burst, settings.form_rate_per_minute, now)
        self.senders = WindowQuota(settings.sender_quota, settings.sender_quota_window_seconds, now)
        self.uploads = WindowQuota(settings.upload_quota_bytes, settings.upload_quota_window_seconds, now)
        self.proxies = [ipaddress.ip_network(cidr, strict=False) for cidr in settings.trusted_proxies]

    def unconfigured(self) -> list[str]:
        s = self.settings
        doors = [str(d) for d in WEBHOOK_DOORS if d not in s.webhook_secrets and not (d == "form" and s.form_public)]
        return doors + ([] if s.api_keys else ["inbound"])

    def guard(self, door: Door) -> Callable[[Request], Awaitable[Caller]]:
        """A FastAPI dependency; the body FastAPI already read is what the signature covers."""

        async def dependency(request: Request) -> Caller:
            return await self.check(door, request, await request.body())

        return dependency

    async def check(self, door: Door, request: Request, body: bytes) -> Caller:
        s = self.settings
        if door == "inbound":
            return self._api_key(request) if s.api_keys else self._open(door, request)
        if door == "attachments":
            return await self._upload(request, body)
        secret = s.webhook_secrets.get(door)  # type: ignore[call-overload]
        if secret is not None:
            return self._signed(request, body, {door: secret})
        if door == "form" and s.form_public:
            return await self._public(request)
        return self._open(door, request)

    async def _upload(self, request: Request, data: bytes) -> Caller:
        s = self.settings
        if request.headers.get("x-api-key") and s.api_keys:
            return self._api_key(request)
        if request.headers.get("x-frontline-signature") and s.webhook_secrets:
            return self._signed(request, data, {str(k): v for k, v in s.webhook_secrets.items()})
        if s.form_public:
            return await self._public(request)
        if s.api_keys or s.webhook_secrets:
            raise unauthorized("uploads need an API key or a channel signature over the file")
        return self._open("attachments", request)

    def charge_upload(self, caller: Caller, size: int) -> None:
        try:
            self.uploads.charge(caller.key, size)
        except Limited as exc:
            raise too_many(f"the attachment quota is {self.settings.upload_quota_bytes} bytes per "
                           f"{self.settings.upload_quota_window_seconds:.0f} s", exc) from exc

    def charge_sender(self, msg: InboundMessage) -> None:
        sender = msg.sender
        who = (sender.email or "").casefold() or sender.phone or sender.chat_id
        if not who:
            return
        try:
            self.senders.charge(who)
        except Limited as exc:
            raise too_many(f"this sender may send {self.settings.sender_quota} messages per "
                           f"{self.settings.sender_quota_window_seconds:.0f} s", exc) from exc

    def _open(self, door: str, request: Request) -> Caller:
        if self.settings.production:
            raise ProblemError(503, "Service Unavailable", f"the {door} door is not configured (docs/security.md)")
        peer = request.client.host if request.client else None
        if not is_loopback(peer):
            raise unauthorized(f"the {door} door is not configured: it answers loopback callers only")
        return Caller("loopback", str(peer))

    def _api_key(self, request: Request) -> Caller:
        try:
            return Caller("api_key", api_key_owner(self.settings.api_keys, request.headers.get("x-api-key", "")))
        except BadCredentials as exc:
            raise unauthorized(str(exc)) from exc

    def _signed(self, request: Request, body: bytes, secrets: dict[str, SecretStr]) -> Caller:
        try:
            return Caller("signature", signature_owner(
                secrets, request.headers.get("x-frontline-timestamp", ""),
                request.headers.get("x-frontline-signature", ""), body, now=self.now(),
                tolerance=self.settings.signature_tolerance_seconds))
        except BadCredentials as exc:
            raise unauthorized(str(exc)) from exc

    async def _public(self, request: Request) -> Caller:
        address = self.client_address(request)
        try:
            self.form_buckets.take(address)
        except Limited as exc:
            raise too_many("too many submissions from this address", exc) from exc
        if self.settings.captcha_verify_url:
            token = request.headers.get("x-captcha-token", "")
            try:
                human = bool(token) and await verify_captcha(self.settings, token, address)
            except CaptchaUnavailable as exc:
                raise ProblemError(503, "Service Unavailable", "the CAPTCHA check is unavailable") from exc
            if not human:
                raise ProblemError(403, "Forbidden", "the CAPTCHA check failed (X-Captcha-Token)")
        return Caller("public", address)

    def client_address(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        return client_address(peer, request.headers.get("x-forwarded-for", ""), self.proxies)
