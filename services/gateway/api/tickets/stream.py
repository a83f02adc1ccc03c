"""Live updates: server-sent events of ticket events within the caller's scope."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from shared.contracts.envelope import Envelope
from shared.runtime.problems import problem_responses

from ...access.principal import UserRole
from ...ledger.hub import EventHub, Subscriber
from ..deps import Ctx, CurrentPrincipal
from .tickets import CLIENT_HIDDEN


def sse(env: Envelope) -> str:
    data = json.dumps(env.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {env.id}\nevent: {env.type}\ndata: {data}\n\n"


async def stream(hub: EventHub, sub: Subscriber, heartbeat: float, max_seconds: float,
                 max_events: int) -> AsyncIterator[str]:
    deadline = time.monotonic() + max_seconds
    sent = 0
    try:
        yield ": connected\n\n"
        while sent < max_events and not sub.dropped:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                env = await asyncio.wait_for(sub.queue.get(), timeout=min(heartbeat, left))
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if env is None:
                break
            if sub.principal.role == UserRole.client and env.type in CLIENT_HIDDEN:
                continue
            yield sse(env)
            sent += 1
    finally:
        hub.unsubscribe(sub)


def router(max_seconds_cap: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["live"])

    @r.get("/stream", response_class=StreamingResponse, responses={
        200: {"description": "`text/event-stream`: one `event: <type>` per ticket event in your scope",
              "content": {"text/event-stream": {"example": 'id: 1c…\nevent: TicketAssigned\ndata: {"ticket_id": '
                                                           '"T-1", "type": "TicketAssigned", …}\n\n'}}},
        **problem_responses(401, 422)}, summary="Server-sent events of ticket events you may see")
    async def events(
        p: CurrentPrincipal, ctx: Ctx,
        ticket_id: str | None = None,
        types: Annotated[list[str] | None, Query(max_length=50, description="Only these event types")] = None,
        max_seconds: Annotated[int, Query(ge=1, le=max_seconds_cap, description="Close after this long")] = 300,
        max_events: Annotated[int, Query(ge=1, le=100_000, description="Close after this many events")] = 10_000,
    ) -> StreamingResponse:
        sub = ctx.hub.subscribe(p, ticket_id, frozenset(types or ()))
        return StreamingResponse(stream(ctx.hub, sub, ctx.settings.sse_heartbeat_seconds, max_seconds, max_events),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return r
