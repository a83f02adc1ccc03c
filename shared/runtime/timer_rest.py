"""How a timer loop (``shared.runtime.timer_loop``) rests between ticks without asking the database.

A tick's one query covers a window past its ``now`` (``horizon``): what it finds there is the earliest timer the
loop needs to look for, and an empty window is known empty. So the loop rests until then (at least ``interval``,
at most ``idle_max``), and only what it is told can end the rest sooner: a timer its store schedules (the rest ends
at that timer's time instead), a partition assignment (``wake``, or a changed ``owned()``) and a clock that jumps
or runs fast (``ManualClock`` tells; any clock is read once a ``LOOK_SECONDS``, in process, no query). The window
widens (doubling, up to ``idle_max``) while it comes back empty and narrows to about twice the gap to the next
timer while timers come often: every timer in it is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.runtime.clock import Clock

LOOK_SECONDS = 1.0  # how often a resting loop reads its clock and its partitions (in process: no query)
RETRY_SECONDS = 1.0  # the rest after a failed tick


class Rest:
    def __init__(self, clock: Clock, owned: Callable[[], set[int] | None], interval: float, idle_max: float) -> None:
        self.clock, self.owned, self.interval = clock, owned, interval
        self.idle_max = max(idle_max, interval)
        self.horizon = min(max(LOOK_SECONDS, interval), self.idle_max)  # clock seconds a tick's query looks ahead
        self.upcoming: datetime | None = None  # the earliest timer the last query found pending in its window
        self._told: datetime | None = None  # the earliest timer scheduled since the last query began
        self._looked_to: datetime | None = None  # the end of the last query's window: nothing is known past it
        self._resting = False
        self._woken = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def forget(self) -> None:
        """A tick begins: what the last query found no longer holds (a tick that does not query rests afresh)."""
        self.upcoming = self._looked_to = None

    def window(self, now: datetime) -> datetime:
        """A tick's query begins: how far it looks past ``now``."""
        self._told, self.upcoming = None, None
        self._looked_to = now + timedelta(seconds=self.horizon)
        return self._looked_to

    def found(self, now: datetime, upcoming: datetime | None) -> None:
        """What the query found pending past ``now`` in its window (None: nothing)."""
        self.upcoming = upcoming
        grown = self.horizon * 2 if upcoming is None else 2 * (upcoming - now).total_seconds()
        self.horizon = min(max(grown, self.interval), self.idle_max)

    def told(self, due_at: datetime) -> None:
        """A timer was scheduled (its store's listener): the rest ends by its time."""
        self._told = due_at if self._told is None else min(self._told, due_at)
        if self._resting:
            self.wake()

    def wake(self) -> None:
        """Look again now (partitions assigned, the clock moved); safe from another thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            self._woken.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed
                loop.call_soon_threadsafe(self._woken.set)

    async def rest(self, owned: set[int] | None, after_failure: bool = False) -> None:
        """Until the earliest known timer (the window's end if none), a told one, a new assignment or a moved clock;
        ``owned``: the partitions the last tick saw."""
        self._loop = asyncio.get_running_loop()
        if after_failure:
            await asyncio.sleep(min(RETRY_SECONDS, self.idle_max))
            return
        # Until what the last query knew ran out, never from the clock as it is now: a clock moved while the query
        # ran would otherwise push the end past timers the query never looked for.
        until = self.upcoming or self._looked_to or self.clock.now() + timedelta(seconds=self.horizon)
        start = time.monotonic()
        floor, deadline = start + self.interval, start + self.idle_max
        self._resting = True
        try:
            while True:
                if self._told is not None:
                    until = min(until, self._told)
                now, t = self.clock.now(), time.monotonic()
                if t >= floor and (now >= until or t >= deadline or self.owned() != owned):
                    return
                self._woken.clear()
                wait = min(LOOK_SECONDS, deadline - t, max((until - now).total_seconds(), floor - t))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), max(wait, 0.0))
        finally:
            self._resting = False
