"""What every service process shares: lifespan of its components, health, readiness, metrics.

A service is a FastAPI app (stream services too: theirs only serves ``/healthz`` and ``/readyz``), so one
runner and one probe layout fit all pods. ``/metrics`` is served on a port of its own (``serve``), never on the
public app, which the Ingress exposes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import make_asgi_app, start_http_server

from shared.runtime import http_server
from shared.runtime.apidocs import install_docs
from shared.runtime.health import Liveness, collecting
from shared.runtime.metrics import HTTP_LATENCY, http_labels
from shared.runtime.problems import install_problem_handlers
from shared.runtime.tasks import cancel

log = logging.getLogger(__name__)


class Component(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


Step = Callable[[], Awaitable[object]]


class Hooks:
    """A component made of plain steps, for the work around the others: topics and indexes before them, the
    database client closed after them, a drain that must come before the others stop."""

    def __init__(self, *starts: Step, stop: Step | None = None) -> None:
        self.starts, self.stop_step = starts, stop

    async def start(self) -> None:
        for step in self.starts:
            await step()

    async def stop(self) -> None:
        if self.stop_step is not None:
            await self.stop_step()


class Together:
    """Components started and stopped concurrently (consumers: each first join waits on the group coordinator)."""

    def __init__(self, *components: Component) -> None:
        self.components = components

    async def start(self) -> None:
        await asyncio.gather(*(c.start() for c in self.components))

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.components), return_exceptions=True)


class Periodic:
    """Runs ``work`` every ``interval`` seconds until stopped; a failed round is logged, the next one runs.

    With ``backoff``, a round whose work returns something falsy (found nothing) doubles the rest, up to ``backoff``
    times the interval, and one that finds something brings the interval back: a sweep for what only a crash leaves
    behind need not query an idle desk every second."""

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[object]], *,
                 backoff: int = 1) -> None:
        self.name, self.interval, self.work, self.backoff = name, interval, work, max(backoff, 1)
        self.rest = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.rest)
            try:
                found = await self.work()
            except Exception:
                log.exception("periodic work failed", extra={"task": self.name})
                found = True  # try again at the interval
            self.rest = self.interval if found else min(self.rest * 2, self.interval * self.backoff)

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None


def service_app(
    name: str,
    components: Callable[[], Sequence[Component]],
    *,
    ready: Callable[[], bool] | None = None,
    not_ready_because: Callable[[], list[str]] | None = None,
    details: Callable[[], Mapping[str, str]] | None = None,
    title: str | None = None,
    description: str = "",
    version: str = "0.1.0",
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build the app; ``components`` is called at startup so construction stays cheap and lazy.

    ``not_ready_because`` names what keeps a running service from taking traffic (say, settings it lacks): it
    fails ``/readyz`` with those reasons and leaves ``/healthz`` alone, since a restart would not fix them.
    ``details`` are facts ``/readyz`` states without failing (say, "scanner": "not configured").
    """
    started: list[Component] = []
    liveness = Liveness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with collecting(liveness):  # the loops the components start report to this app's /healthz
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
                  lifespan=lifespan, docs_url=None, redoc_url=None, **fastapi_kwargs)
    app.state.started = False
    install_docs(app)  # /docs and /redoc from local assets: they work offline
    install_problem_handlers(app)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Any) -> Response:
        t0 = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        HTTP_LATENCY.labels(*http_labels(name, request.method, getattr(route, "path", None),
                                         response.status_code)).observe(time.perf_counter() - t0)
        return response

    @app.get("/healthz", tags=["ops"], summary="Liveness: no background loop (consumer, agent) is dead",
             responses={503: {"description": "A loop died and is not consuming again yet"}})
    async def healthz() -> JSONResponse:
        problems = liveness.problems()
        return JSONResponse({"status": "failing" if problems else "ok", "service": name, "problems": problems},
                            status_code=503 if problems else 200)

    @app.get("/readyz", tags=["ops"], summary="Readiness: started, its consumers running, none of them dead",
             responses={503: {"description": "Not ready"}})
    async def readyz() -> JSONResponse:
        problems = liveness.problems() + (not_ready_because() if not_ready_because else [])
        ok = bool(app.state.started) and (ready() if ready else True) and not problems
        status = "ready" if ok else "failing" if problems else "starting"
        body: dict[str, Any] = {"status": status, "service": name, "problems": problems}
        if details is not None:
            body["details"] = dict(details())
        return JSONResponse(body, status_code=200 if ok else 503)

    return app


def metrics_app() -> Any:
    """The Prometheus page as an ASGI app (what ``serve`` runs on the metrics port; tests scrape it in-process)."""
    return make_asgi_app()


def serve(app: FastAPI, host: str, port: int, metrics_port: int) -> None:
    """The app on ``port``; ``/metrics`` on ``metrics_port`` (same host), a port the Ingress never routes to."""
    start_http_server(metrics_port, addr=host)
    http_server.run(app, host, port)
