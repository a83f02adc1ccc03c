"""SMS through Twilio's Programmable Messaging REST API, and its delivery-report webhook.

Send: ``POST {api}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``
(or ``MessagingServiceSid``), ``Body``, ``StatusCallback``; HTTP basic auth AccountSid:AuthToken.
201 answers a Message resource (``sid``, ``status``, ``num_segments``); errors answer
``{"code", "message", "more_info", "status"}``. Reports: Twilio POSTs form fields ``MessageSid``,
``MessageStatus`` (queued/sent/delivered/undelivered/failed), ``ErrorCode`` to the StatusCallback,
signed in ``X-Twilio-Signature`` = base64(HMAC-SHA1(AuthToken, URL + sorted name+value pairs)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from .errors import SendError, permanent, transient
from .settings import NotifySettings
from .sms_text import fit, segments, to_e164

# Twilio error codes that no retry will fix: bad/unreachable/opted-out number, region not allowed.
PERMANENT_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21421, 21610, 21612, 21614, 21617, 21635})
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(auth_token: str, url: str, params: Mapping[str, str], given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(signature(auth_token, url, params), given or "")


def classify(status: int, body: Mapping[str, Any]) -> SendError:
    code = body.get("code")
    reason = f"twilio {status} {code}: {body.get('message', '')}".strip()
    if status == 429 or status >= 500 or status in (401, 403, 408):
        return transient(reason)  # throttled, provider trouble, or credentials an admin can fix
    if isinstance(code, int) and code in PERMANENT_CODES:
        return permanent(reason)
    return permanent(reason) if 400 <= status < 500 else transient(reason)


class TwilioSms:
    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        self.client = client or httpx.AsyncClient(timeout=settings.sms_timeout)

    @property
    def url(self) -> str:
        return f"{self.s.sms_api_url.rstrip('/')}/2010-04-01/Accounts/{self.s.sms_account_sid}/Messages.json"

    def form(self, to: str, text: str) -> dict[str, str]:
        form = {"To": to, "Body": fit(text, self.s.sms_max_segments)}
        if self.s.sms_messaging_service_sid:
            form["MessagingServiceSid"] = self.s.sms_messaging_service_sid
        else:
            form["From"] = self.s.sms_from or ""
        if self.s.sms_status_callback_url:
            form["StatusCallback"] = self.s.sms_status_callback_url
        return form

    async def send(self, d: Mapping[str, Any]) -> str:
        to = to_e164(d.get("address"), self.s.sms_default_region)
        if to is None:
            raise permanent(f"invalid phone number {d.get('address')!r}")
        form = self.form(to, d["text"])
        try:
            resp = await self.client.post(self.url, data=form, auth=(self.s.sms_account_sid, self.s.sms_auth_token))
        except httpx.HTTPError as exc:
            raise transient(f"twilio unreachable: {exc!r}"[:500]) from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code not in (200, 201):
            raise classify(resp.status_code, body if isinstance(body, dict) else {})
        sid = str(body.get("sid") or "")
        if not sid:
            raise transient("twilio answered without a message sid")
        return sid

    def parts(self, text: str) -> int:
        return segments(fit(text, self.s.sms_max_segments)).segments

    async def close(self) -> None:
        await self.client.aclose()
