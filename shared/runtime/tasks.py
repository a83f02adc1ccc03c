"""Stopping background tasks: every service's consumers, loops and pollers end the same way."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(*tasks: asyncio.Task[object] | None) -> None:
    """Cancel ``tasks`` (all at once, so their shutdowns overlap) and wait until each has ended.

    A stopping task's cancellation, or the error it died of earlier, is not the caller's to handle:
    it was logged where it happened, and a stop must always complete.
    """
    running = [t for t in tasks if t is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
