"""A queue branch read as windows of its sort key on the stored queue keys (keys.py), widened until the page is full.

The embedded database bounds ``{queue_keys: {$gte: P + a, $lt: P + b}}`` by one index range and reads only the
tickets inside it, where a sorted query with a limit reads every ticket of the branch. A window that holds the
page is guessed from a :class:`Sketch` (every ``SAMPLE``-th sort token of what earlier windows read): a guess
only sizes the window, it never decides what is returned, since the windows are contiguous and a page is cut
only once a window ends past ``limit + 1`` matches. The branch's own conditions stay in the query, so MongoDB,
whose multikey range may match a ticket by two different keys, returns the same rows; a ticket whose sort token
lies outside the window is dropped here.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from .keys import KEYS_FIELD, TOP, token

SAMPLE = 16  # one sort token in this many is remembered
MAX_WINDOWS = 6  # then the rest of the branch in one read
Doc = dict[str, Any]


class Sketch:
    """Per key prefix, sampled sort tokens of its tickets, as last read: the hint that sizes the next window."""

    def __init__(self) -> None:
        self._samples: dict[str, list[str]] = {}

    def ahead(self, key: str, start: str | None, n: int, direction: int) -> str | None:
        """The token about ``n`` tickets past ``start`` in ``direction`` (a window's far end); None: unknown."""
        samples = self._samples.get(key)
        if samples is None:
            return None
        steps = math.ceil(n / SAMPLE)  # between two samples lie SAMPLE tickets; before the first, half
        if direction > 0:
            i = bisect.bisect_right(samples, start) if start is not None else 0
            return samples[i + steps] if i + steps < len(samples) else None
        i = bisect.bisect_left(samples, start) if start is not None else len(samples)
        return samples[i - steps] if i - steps >= 0 else None

    def seed(self, key: str, samples: list[str]) -> None:
        """Samples drawn elsewhere (one in ``SAMPLE`` of the key's tickets, in any order)."""
        self._samples[key] = sorted(samples)

    def learn(self, key: str, low: str | None, high: str | None, tokens: list[str]) -> None:
        """Every ticket with a token in [low, high) was read: its samples there become these tokens'."""
        samples = self._samples.setdefault(key, [])
        i = bisect.bisect_left(samples, low) if low is not None else 0
        j = bisect.bisect_left(samples, high) if high is not None else len(samples)
        samples[i:j] = sorted(tokens)[SAMPLE // 2::SAMPLE]


def succ(tok: str) -> str:
    """Just above ``tok`` and below every greater token (tokens are digits of one width)."""
    return tok + TOP


def bounds(ops: dict[str, Any]) -> tuple[str | None, str | None]:
    """A range on the sort field as token bounds [low, high): wide enough, the query applies it exactly."""
    low = max((token(v) for op, v in ops.items() if op in ("$gt", "$gte")), default=None)
    high = min((succ(token(v)) for op, v in ops.items() if op in ("$lt", "$lte")), default=None)
    return low, high


FindWindow = Callable[[Doc], Any]  # query → awaitable list of documents


async def walk(find: FindWindow, sketch: Sketch, key: str, prefix: str, conditions: Doc, field: str,
               direction: int, low: str | None, high: str | None, need: int,
               accept: Callable[[Doc], bool]) -> list[Doc]:
    """The branch's tickets with sort tokens in [low, high) that ``accept`` takes (the cursor's exact bound), from
    the walk's start, until ``need`` are found.

    Every such ticket before the last window's end is returned (the caller sorts and cuts): so the first
    ``need`` of them are the branch's first ``need`` in the walk's order.
    """
    found: list[Doc] = []
    start = low if direction > 0 else high
    for step in range(MAX_WINDOWS + 1):
        wanted = max(need - len(found), 1) << step
        far = sketch.ahead(key, start, wanted, direction) if step < MAX_WINDOWS else None
        last = far is None
        if direction > 0:
            a, b = start, far if not last else high
            if high is not None and b is not None and b >= high:
                b, last = high, True
        else:
            a, b = far if not last else low, start
            if low is not None and a is not None and a <= low:
                a, last = low, True
        window = {"$gte": prefix + (a or ""), "$lt": prefix + (b if b is not None else TOP)}
        docs = await find({KEYS_FIELD: window, **conditions})
        inside = [(t, d) for d in docs if (a or "") <= (t := token(d.get(field))) and (b is None or t < b)]
        sketch.learn(key, a, b, [t for t, _ in inside])
        found += [d for _, d in inside if accept(d)]
        if last or len(found) >= need:
            return found
        start = b if direction > 0 else a
    return found  # pragma: no cover - the last window is open
