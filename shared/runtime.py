"""What every service process shares: lifespan of its components, health, readiness, metrics.

A service is a FastAPI app (stream services too: theirs only serves ``/healthz``,
``/readyz`` and ``/metrics``), so one runner and one probe layout fit all pods.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.metrics import HTTP_LATENCY
from shared.problems import install_problem_handlers
from shared.tasks import cancel

log = logging.getLogger(__name__)


class Component(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Periodic:
    """Runs ``work`` every ``interval`` seconds until stopped; a failed round is logged, the next one runs."""

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name, self.interval, self.work = name, interval, work
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.work()
            except Exception:
                log.exception("periodic work failed", extra={"task": self.name})

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None


def service_app(
    name: str,
    components: Callable[[], Sequence[Component]],
    *,
    ready: Callable[[], bool] | None = None,
    title: str | None = None,
    description: str = "",
    version: str = "0.1.0",
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build the app; ``components`` is called at startup so construction stays cheap and lazy."""
    started: list[Component] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for component in components():
            await component.start()
            started.append(component)
        app.state.started = True
        try:
            yield
        finally:
            app.state.started = False
            for component in reversed(started):
                await component.stop()
            started.clear()

    app = FastAPI(title=title or f"Frontline {name}", description=description, version=version,
                  lifespan=lifespan, **fastapi_kwargs)
    app.state.started = False
    install_problem_handlers(app)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Any) -> Response:
        t0 = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        HTTP_LATENCY.labels(name, request.method, getattr(route, "path", "unmatched"),
                            str(response.status_code)).observe(time.perf_counter() - t0)
        return response

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=["ops"], summary="Readiness: started and its consumers running",
             responses={503: {"description": "Not ready"}})
    async def readyz() -> JSONResponse:
        ok = bool(app.state.started) and (ready() if ready else True)
        return JSONResponse({"status": "ready" if ok else "starting", "service": name}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
