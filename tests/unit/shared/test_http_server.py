"""shared.runtime.http_server: uvicorn's main loop wakes once a TICK_SECONDS, refreshes its Date header on every
tick, and an exit signal ends the wait at once."""

from __future__ import annotations

import asyncio
import signal

import pytest
import uvicorn
from fastapi import FastAPI

from shared.runtime import http_server
from shared.runtime.http_server import QuietServer
from tests.support.testing import eventually


def server() -> QuietServer:
    return QuietServer(uvicorn.Config(FastAPI(), host="127.0.0.1", port=0, log_config=None, lifespan="off"))


async def test_every_tick_refreshes_the_date_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "TICK_SECONDS", 0.01)
    srv, ticks = server(), []
    on_tick = srv.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await on_tick(counter)

    srv.on_tick = counted  # type: ignore[method-assign]
    task = asyncio.ensure_future(srv.serve())
    try:
        await eventually(lambda: len(ticks) >= 5, timeout=10, message="ticks")
        assert all(c % 10 == 0 for c in ticks), "uvicorn refreshes the Date header on a counter divisible by ten"
        assert srv.server_state.default_headers[0][0] == b"date"
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_an_exit_signal_ends_a_long_tick_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "TICK_SECONDS", 600.0)
    srv = server()
    task = asyncio.ensure_future(srv.serve())
    await eventually(lambda: srv.started, timeout=10, message="started")
    srv.handle_exit(signal.SIGTERM, None)  # what the signal handler calls
    srv._captured_signals.clear()  # uvicorn raises captured signals again once it has stopped: not in pytest
    await asyncio.wait_for(task, 5)  # not the ten minutes of the tick
    assert srv.should_exit
