"""A value read at most once per ``ttl`` seconds per process, however many tasks ask for it at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cached(Generic[T]):
    """Callers that find the value stale together wait on one load (a consumer's partition tasks all expire at the
    same moment, and each reloading on its own multiplied the reads by the partitions)."""

    def __init__(self, load: Callable[[], Awaitable[T]], ttl: float) -> None:
        self.load, self.ttl = load, ttl
        self._value: T | None = None
        self._at = 0.0
        self._loading: asyncio.Future[T] | None = None

    async def get(self) -> T:
        if self._value is not None and time.monotonic() - self._at < self.ttl:
            return self._value
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._reload())
        # shielded: one caller cancelled (a rebalance) leaves the load to the others
        return await asyncio.shield(self._loading)

    async def _reload(self) -> T:
        try:
            value = await self.load()
            self._value, self._at = value, time.monotonic()
            return value
        finally:
            self._loading = None
