"""uvicorn's server, looking round once a second instead of ten times.

uvicorn's main loop wakes every 100 ms to refresh its Date header (once a second) and to see whether it should exit:
ten wake-ups a second per service on an idle desk. Waking once a second keeps the Date header as fresh, and an exit
signal ends the wait at once, so a stop is no slower; only ``should_exit`` set by hand is seen up to a second late.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

TICK_SECONDS = 1.0
TICKS_PER_DATE = 10  # uvicorn refreshes its Date header on every tenth of its ticks


class QuietServer(uvicorn.Server):  # type: ignore[misc]
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._exit, self._loop = asyncio.Event(), asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_PER_DATE) % 864000  # each tick a second: the Date header every tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), TICK_SECONDS)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._exit.set)


def run(app: Any, host: str, port: int) -> None:
    """``uvicorn.run`` with the quiet server (the same settings ``serve`` always used)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = QuietServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # as uvicorn.run: a server that never started exits with its start-up failure
        sys.exit(STARTUP_FAILURE)
