"""In-memory rate limits and quotas for intake's doors: a token bucket per client address, a counter per window.

State lives in the process, so each intake pod counts on its own (N pods admit up to N times a limit); a
restart forgets it. That is the price of keeping Mongo off the hot path of every request; the limits exist
to stop floods from one source, which a load balancer spreads over few pods anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

V = TypeVar("V")

# Above this many tracked keys, expired ones are swept; beyond twice as many the oldest are dropped, so a
# caller inventing a new key per request cannot grow the process without bound.
MAX_KEYS = 50_000


class Limited(Exception):
    """Over the limit; ``retry_after`` is in whole seconds (at least 1)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f} s")
        self.retry_after = max(1, math.ceil(retry_after))


class TokenBuckets:
    """``burst`` requests at once per key, refilled at ``per_minute``."""

    def __init__(self, burst: int, per_minute: float, now: Callable[[], float]) -> None:
        self.burst, self.rate, self.now = burst, per_minute / 60.0, now
        self.buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)

    def take(self, key: str) -> None:
        now = self.now()
        tokens, at = self.buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1:
            raise Limited((1 - tokens) / self.rate if self.rate > 0 else 3600)
        self.buckets.pop(key, None)  # re-inserted last: the dict stays in order of use
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > MAX_KEYS:
            full = float(self.burst) / self.rate if self.rate > 0 else math.inf
            self.buckets = _bounded({k: v for k, v in self.buckets.items() if now - v[1] < full})


class WindowQuota:
    """At most ``limit`` units per key in each fixed window of ``window`` seconds; ``limit`` 0 means none."""

    def __init__(self, limit: int, window: float, now: Callable[[], float]) -> None:
        self.limit, self.window, self.now = limit, window, now
        self.used: dict[str, tuple[float, int]] = {}  # key → (window start, units used)

    def charge(self, key: str, units: int = 1) -> None:
        if self.limit <= 0:
            return
        now = self.now()
        start, used = self.used.get(key, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        if used + units > self.limit:
            raise Limited(start + self.window - now)
        self.used.pop(key, None)
        self.used[key] = (start, used + units)
        if len(self.used) > MAX_KEYS:
            self.used = _bounded({k: v for k, v in self.used.items() if now - v[0] < self.window})


def _bounded(items: dict[str, V]) -> dict[str, V]:
    """Keep the MAX_KEYS most recently used entries (each use re-inserts its key at the end)."""
    if len(items) <= 2 * MAX_KEYS:
        return items
    return dict(list(items.items())[-MAX_KEYS:])
