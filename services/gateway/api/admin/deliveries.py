"""Administrators: notifications that never reached their recipient, newest first (``queries/deliveries.py``).

Notify keeps them in its published ``notify_deliveries``; the gateway only reads them, so an admin sees failures
without a second copy of the data.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.contracts.collections import DeliveryChannel
from shared.runtime.clock import as_utc
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import UserRole
from ...queries.deliveries import failed_deliveries
from ..deps import Ctx, CurrentPrincipal, require


class FailedDelivery(BaseModel):
    id: str = Field(description="Notification id (notify's idempotency key)")
    ticket_id: str
    channel: str
    recipient: str = Field(description="Agent id, or client:<key>")
    address: str | None = Field(None, description="E-mail, phone, chat conversation or in-app user")
    template: str | None = None
    reason: str | None = Field(None, description="Why it failed, as notify recorded it")
    attempts: int
    permanent: bool = Field(description="Refused for good (not retried), rather than retries exhausted")
    carrier_status: str | None = Field(None, description="undelivered/failed: the SMS carrier's report; null: "
                                                         "notify gave up itself")
    at: datetime = Field(description="When it failed (or the carrier reported it)")


class FailedDeliveryPage(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"items": [{
        "id": "5f1c…", "ticket_id": "T-1", "channel": "email", "recipient": "client:anna@client.example",
        "address": "anna@client.example", "template": "reply", "reason": "recipient refused: 550 no such user",
        "attempts": 1, "permanent": True, "carrier_status": None, "at": "2026-03-02T09:31:00Z"}],
        "next_cursor": None, "limit": 50}]}}

    items: list[FailedDelivery]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page")
    limit: int


def encode_cursor(at: datetime, doc_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([as_utc(at).isoformat(), doc_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, doc_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return as_utc(datetime.fromisoformat(at)), str(doc_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ProblemError(400, "Bad cursor", "pass next_cursor from the previous page unchanged") from exc


def failed_delivery(doc: dict[str, Any]) -> FailedDelivery:
    carrier = doc.get("delivery_status") if doc.get("status") != "failed" else None
    reason = doc.get("last_error")
    if carrier:  # notify's wording for a carrier failure (it stores only the status and the code)
        code = doc.get("delivery_error_code")
        reason = f"carrier reported {carrier}" + (f" (error {code})" if code else "")
    return FailedDelivery(id=str(doc["_id"]), ticket_id=doc["ticket_id"], channel=doc["channel"],
                          recipient=doc["recipient"], address=doc.get("address"), template=doc.get("template"),
                          reason=reason, attempts=int(doc.get("attempts") or 0),
                          permanent=bool(doc.get("permanent") or carrier), carrier_status=carrier,
                          at=as_utc(doc["at"]))


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.get("/admin/notifications/failed", response_model=FailedDeliveryPage, tags=["admin"],
           responses=problem_responses(400, 401, 403, 422),
           summary="Notifications that failed or were dead-lettered, newest first")
    async def failed(p: CurrentPrincipal, ctx: Ctx, channel: DeliveryChannel | None = None,
                     ticket_id: Annotated[str | None, Query(max_length=200)] = None,
                     cursor: Annotated[str | None, Query(max_length=500)] = None,
                     limit: Annotated[int, Query(ge=1, le=max_page)] = 50) -> FailedDeliveryPage:
        require(p, {UserRole.administrator}, "failed notifications")
        after = decode_cursor(cursor) if cursor else None
        docs = await failed_deliveries(ctx.reads.db, limit, after, channel, ticket_id)
        items = [failed_delivery(d) for d in docs[:limit]]
        more = len(docs) > limit
        return FailedDeliveryPage(items=items, limit=limit,
                                  next_cursor=encode_cursor(items[-1].at, items[-1].id) if more else None)

    return r
