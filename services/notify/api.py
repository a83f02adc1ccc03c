"""Notify's HTTP surface: in-app inbox, template previews, failed deliveries for admins, SMS delivery reports.

Everything but the SMS webhook is an internal API for other services and operators' tools (people reach
their data through the gateway's scoping): it demands service authentication (``shared.runtime.service_auth``).
The webhook is called by the SMS provider, which cannot hold our token: it must carry the provider's signature.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from shared.contracts.envelope import envelope_for
from shared.contracts.notify_api import PreviewIn, PreviewOut
from shared.contracts.schemas import notify, tickets
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id
from shared.runtime.kafka import KafkaBus
from shared.runtime.metrics import NOTIFICATIONS
from shared.runtime.problems import ProblemError, problem_responses
from shared.runtime.service_auth import service_caller

from .dispatcher import Dispatcher
from .settings import NotifySettings
from .sms import FINAL_STATUSES, valid_signature
from .store import DirectoryCache, NotifyStore
from .templates import LANGUAGES, draft_override, preview_out, template_names

# Pauses before a signed delivery report for an unknown SMS is answered 404: its sent mark may still be on its way.
REPORT_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.5)


class NotifyApi(Protocol):
    """What the routes need of the running service (the wiring's ``NotifyService``)."""

    settings: NotifySettings
    clock: Clock
    bus: KafkaBus
    store: NotifyStore
    directories: DirectoryCache
    dispatcher: Dispatcher


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    out = {("id" if k == "_id" else k): v for k, v in doc.items() if k not in ("html",)}
    return out


def router(svc: NotifyApi) -> APIRouter:
    r = APIRouter(prefix="/api/v1", dependencies=[Depends(service_caller(svc.settings))],
                  responses=problem_responses(401, 503))

    @r.get("/inbox", tags=["inbox"], summary="A person's in-app notifications, newest first")
    async def inbox(user: str = Query(min_length=1), unread: bool = False,
                    limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        items = await svc.store.inbox_for(user, unread, limit)
        return {"items": [_public(d) for d in items]}

    @r.post("/inbox/{item_id}/read", tags=["inbox"], status_code=204, responses=problem_responses(404))
    async def mark_read(item_id: str, user: str = Query(min_length=1)) -> Response:
        if not await svc.store.mark_read(user, item_id, svc.clock.now()):
            raise ProblemError(404, "Not Found", f"no inbox item {item_id} for {user}")
        return Response(status_code=204)

    @r.get("/templates", tags=["templates"], summary="Template names and languages")
    async def templates() -> dict[str, Any]:
        return {"items": template_names(), "languages": list(LANGUAGES)}

    @r.get("/templates/{name}/preview", tags=["templates"], response_model=PreviewOut,
           responses=problem_responses(404, 422), summary="Render a template (as administrators saved it)")
    async def preview_get(name: str, language: Literal["ru", "en"] = "ru") -> PreviewOut:
        return preview_out(name, language, None, await svc.directories.template(name, language))

    @r.post("/templates/{name}/preview", tags=["templates"], response_model=PreviewOut,
            responses=problem_responses(404, 422), summary="Render a template with a given context or draft")
    async def preview_post(name: str, body: PreviewIn = Body(...)) -> PreviewOut:
        override = (draft_override(name, body.language, body.draft) if body.draft
                    else await svc.directories.template(name, body.language))
        return preview_out(name, body.language, body.context, override)

    @r.get("/deliveries", tags=["admin"], summary="Deliveries, e.g. ?status=failed for the admin view")
    async def deliveries(status: Literal["pending", "sending", "sent", "failed"] | None = None,
                         ticket_id: str | None = None, channel: str | None = None,
                         limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        query = {k: v for k, v in {"status": status, "ticket_id": ticket_id, "channel": channel}.items() if v}
        return {"items": [_public(d) for d in await svc.store.list_deliveries(query, limit)]}

    @r.get("/deliveries/{delivery_id}", tags=["admin"], responses=problem_responses(404))
    async def delivery(delivery_id: str) -> dict[str, Any]:
        doc = await svc.store.get_delivery(delivery_id)
        if doc is None:
            raise ProblemError(404, "Not Found", f"no delivery {delivery_id}")
        return _public(doc)

    @r.post("/deliveries/{delivery_id}/retry", tags=["admin"], status_code=202, responses=problem_responses(409))
    async def retry(delivery_id: str) -> dict[str, str]:
        """Put a failed delivery back in the queue (after the address or the provider was fixed)."""
        if not await svc.store.requeue(delivery_id, svc.clock.now()):
            raise ProblemError(409, "Conflict", f"delivery {delivery_id} is not failed")
        svc.dispatcher.wake()
        return {"id": delivery_id, "status": "pending"}

    return r


def webhook_router(svc: NotifyApi) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.post("/sms/status", tags=["sms"], status_code=204, responses=problem_responses(403, 404, 422),
            summary="Twilio StatusCallback: delivery reports for sent SMS")
    async def sms_status(request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        s = svc.settings
        url = s.sms_status_callback_url or str(request.url)
        # Without an auth token anyone could sign (an HMAC with an empty key), so then nothing is accepted.
        if not s.sms_auth_token or not valid_signature(s.sms_auth_token, url, params,
                                                       request.headers.get("X-Twilio-Signature")):
            raise ProblemError(403, "Forbidden", "missing or bad X-Twilio-Signature")
        sid, status = params.get("MessageSid"), params.get("MessageStatus")
        if not sid or not status:
            raise ProblemError(422, "Invalid report", "MessageSid and MessageStatus are required")
        doc = await svc.store.by_provider_id(sid)
        for pause in REPORT_WAITS:  # a signed report can overtake the sent mark that records its sid
            if doc is not None:
                break
            await asyncio.sleep(pause)
            doc = await svc.store.by_provider_id(sid)
        if doc is None:
            raise ProblemError(404, "Not Found", f"no SMS {sid}")
        if status in FINAL_STATUSES and doc.get("delivery_status") != status:
            # Publish before recording: if we crash in between, Twilio retries the callback and the ids dedupe.
            failed = status in ("undelivered", "failed")
            if failed:
                await _carrier_failure(svc, doc, status, params.get("ErrorCode"))
            if await svc.store.record_report(doc["_id"], status, params.get("ErrorCode"), svc.clock.now()) \
                    and failed:  # counted once, although Twilio may repeat the callback
                NOTIFICATIONS.labels(channel="sms", outcome="undelivered").inc()
        return Response(status_code=204)

    return r


async def _carrier_failure(svc: NotifyApi, doc: dict[str, Any], status: str, code: str | None) -> None:
    """Accepted by the provider but not delivered to the handset: a final failure the ticket should show."""
    reason = f"carrier reported {status}" + (f" (error {code})" if code else "")
    nid, now = doc["_id"], svc.clock.now()
    ev = envelope_for(notify.NotificationFailed(notification_id=nid, event_id=doc["event_id"],
                                                recipient=doc["recipient"], channel="sms", template=doc["template"],
                                                reason=reason, permanent=True, attempts=int(doc.get("attempts") or 1)),
                      doc["ticket_id"], occurred_at=now, id=derived_id(nid, "report", status), actor="notify")
    cmd = envelope_for(tickets.RecordNotification(notification_id=nid, recipient=doc["recipient"], channel="sms",
                                                  outcome="failed", detail=reason),
                       doc["ticket_id"], occurred_at=now, id=derived_id(nid, "record-report", status), actor="notify")
    await svc.bus.publish(NOTIFY_EVENTS, ev)
    await svc.bus.publish(TICKETS_COMMANDS, cmd)
    failed = {**doc, "status": "failed", "last_error": reason, "permanent": True}
    await svc.dispatcher.dead_letter(failed, ev)
    await svc.dispatcher.report(failed)
