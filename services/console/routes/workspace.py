"""The agent's workspace: the home redirect, the queue pages, their live parts and the SSE relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from shared.runtime.problems import ProblemError

from ..gateway import Api, UserApi, optional
from ..pages import render
from ..session import CurrentSession, MaybeSession
from ..views.queues import QUEUES, capped, counts, rows
from ..views.tools import tag_param

router = APIRouter()
PAGE_SIZE = 100
ROWS = {"view": "rows"}  # the gateway sends only what a row shows (bench/console.py: whole tickets were the cost)


@router.get("/", include_in_schema=False)
async def home(session: MaybeSession) -> RedirectResponse:
    return RedirectResponse(session.home if session else "/sign-in", status_code=303)


async def queue_counts(api: Api) -> tuple[dict[str, int], frozenset[str]]:
    """Counts from the gateway's ``GET /queues`` and the queues past its cap; while it has none to give (or
    refuses), the nav shows none."""
    answer = await optional(api.get("/queues"))
    return ({}, frozenset()) if answer is None else (counts(answer), capped(answer))


def _queue(queue: str) -> str:
    if queue not in QUEUES:
        raise ProblemError(404, "Not Found", f"there is no queue {queue!r}")
    return queue


@router.get("/queues/counts", response_class=HTMLResponse)
async def counts_partial(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    found, more = await queue_counts(api)
    return render(request, session, "workspace/counts.html", counts=found, capped=more, queues=QUEUES,
                  current=request.query_params.get("current"))


@router.get("/queues/{queue}", response_class=HTMLResponse)
async def queue_page(queue: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _queue(queue)
    # The counts are not waited for: the nav fetches /queues/counts as soon as the page is in (data-live-load),
    # so the page answers in the time of its rows alone (bench/console.py measured the counts as the slow part).
    params = {"limit": PAGE_SIZE, **ROWS, **tag_param(request.query_params.get("tag"))}
    page = await api.get(f"/queues/{queue}", params=params)
    return render(request, session, "workspace/queue.html", queue=queue, queues=QUEUES, current=queue,
                  rows=rows(page, queue, session.user_id), counts={}, tag=params.get("tag"))


@router.get("/queues/{queue}/rows", response_class=HTMLResponse)
async def queue_rows(queue: str, request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    _queue(queue)
    page = await api.get(f"/queues/{queue}", params={"limit": PAGE_SIZE, **ROWS,
                                                     **tag_param(request.query_params.get("tag"))})
    return render(request, session, "workspace/rows.html", queue=queue, rows=rows(page, queue, session.user_id))


@router.get("/live")
async def live(api: UserApi) -> StreamingResponse:
    """The gateway's event stream for this user, passed through (heartbeats too); closed when the browser goes.

    The ``event:`` lines are dropped, so every ticket event reaches the browser's one ``onmessage`` (EventSource has
    no catch-all for named events); the type is still in each event's data.
    """
    upstream = await api.raw("GET", "/stream", timeout=httpx.Timeout(10.0, read=None))

    async def relay() -> AsyncIterator[str]:
        try:
            async for line in upstream.aiter_lines():
                if not line.startswith("event:"):
                    yield line + "\n"
        finally:
            await upstream.aclose()

    return StreamingResponse(relay(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
