"""The loop that fires due timers (``shared.runtime.timers``) of the partitions this instance owns.

Two modes. One by one (``fire``): a tick's due timers are grouped by ticket (``by_ticket``); up to
``concurrency`` tickets fire side by side, each ticket's timers one after another in due order, and a timer whose
owner raises NotYet stays due with the ticket's later ones. What fired is marked in one write at the end of the
tick, also when a timer failed or the tick was cancelled. Batch (``fire_many``): a tick's due timers, up to
``batch``, go to the owner together, which returns the ids it is done with; they are marked fired in one write.
Either way a timer is marked only after its effect, so a crash re-fires it (same envelope ids) and never skips it.

Between ticks the loop polls every ``interval``, or, given ``idle_max``, rests (``shared.runtime.timer_rest``):
one query per tick reads what is due and the earliest timer pending within a window, and the loop rests until
then, at most ``idle_max``. Owners schedule every timer through their own TimerStore, which tells the loop of each,
so nothing but what it is told needs a query: a sooner timer shortens the rest, a new partition assignment, a
clock moved by hand (``ManualClock`` tells, a ``FileClock`` is read once a ``LOOK_SECONDS``) end it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from shared.runtime.clock import Clock
from shared.runtime.tasks import cancel
from shared.runtime.timer_rest import Rest
from shared.runtime.timers import NotYet, Timer, TimerStore

log = logging.getLogger(__name__)
# The longest rest, for owners that schedule every timer through their own TimerStore (which tells the loop): it
# bounds only how late a timer nobody told of is noticed (one another process wrote, say). An idle desk's loop asks
# the database once per this.
IDLE_MAX_SECONDS = 30.0
Fire = Callable[[Timer], Awaitable[None]]
FireMany = Callable[[Sequence[Timer]], Awaitable[list[str]]]


def by_ticket(timers: Iterable[Timer]) -> list[list[Timer]]:
    """Due timers per ticket, each ticket's in due order, tickets by their earliest timer (ties: first seen)."""
    groups: dict[str, list[Timer]] = {}
    for tm in timers:
        groups.setdefault(tm.ticket_id, []).append(tm)
    for group in groups.values():
        group.sort(key=lambda tm: tm.due_at)
    return sorted(groups.values(), key=lambda group: group[0].due_at)


class OwnedPartitions:
    """The partitions of one topic this instance consumes, kept by its rebalance hooks.

    Pass ``assigned``/``revoked`` to the consumer and the instance itself as a TimerLoop's
    ``owned``: each timer then fires in the one instance that owns its ticket's partition.
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.partitions: set[int] = set()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after an assignment (a resting timer loop looks at its new partitions at once)."""
        self._listeners.append(listener)

    async def assigned(self, tps: set[Any]) -> None:
        self.partitions |= {tp.partition for tp in tps if tp.topic == self.topic}
        for listener in self._listeners:
            listener()

    async def revoked(self, tps: set[Any]) -> None:
        self.partitions -= {tp.partition for tp in tps if tp.topic == self.topic}

    def __call__(self) -> set[int]:
        return set(self.partitions)


class TimerLoop:
    """Polls for due timers of owned partitions (None: all) and fires them in due order.

    A tick holds ``busy``, so a rebalance can wait for the tick in flight (``quiesce``) after fencing ownership
    off, and an owner can let it finish (``drain``) before stopping, rather than cut it between its effect and
    its marking.
    """

    def __init__(self, store: TimerStore, clock: Clock, fire: Fire | None = None, *,
                 fire_many: FireMany | None = None, batch: int = 500, interval: float = 0.1,
                 owned: Callable[[], set[int] | None] | None = None, drain_seconds: float = 10.0,
                 idle_max: float | None = None, concurrency: int = 1) -> None:
        if (fire is None) == (fire_many is None):
            raise TypeError("give either fire (one by one) or fire_many (batch mode)")
        self.store, self.clock, self.interval, self.batch = store, clock, interval, batch
        # one by one: tickets fired side by side; 1 unless the owner's firings of different tickets are independent
        self.concurrency = max(1, concurrency)
        self.fire, self.fire_many = fire, fire_many
        self.owned = owned or (lambda: None)
        self.drain_seconds = drain_seconds
        self.busy = asyncio.Lock()  # held by a tick (and by work fenced like one, e.g. an outbox sweep)
        self.stopping = False
        self._task: asyncio.Task[None] | None = None
        self._full = False
        self._unfired = False  # the last tick left due timers (NotYet): look again after ``interval``
        self.fired = 0
        self.idle_max = idle_max
        self._rest = None if idle_max is None else Rest(clock, self.owned, interval, idle_max)
        self._seen: set[int] | None = None  # the partitions the last tick saw
        self._failed = False
        self._unwatch: Callable[[], None] | None = None
        if self._rest is not None:
            store.on_schedule(self._rest.told)
            if (on_change := getattr(owned, "on_change", None)) is not None:
                on_change(self._rest.wake)

    async def start(self) -> None:
        watch = getattr(self.clock, "on_change", None)  # a clock moved by hand (tests) tells a resting loop
        if self._rest is not None and watch is not None:
            self._unwatch = watch(self._rest.wake)
        self._task = asyncio.create_task(self._run(), name="timers")

    async def quiesce(self) -> None:
        """Wait for the tick in flight."""
        async with self.busy:
            pass

    async def drain(self) -> None:
        """Start no further tick and wait (bounded) for the one in flight."""
        self.stopping = True
        try:
            async with asyncio.timeout(self.drain_seconds):
                await self.quiesce()
        except TimeoutError:
            log.warning("timer tick still running at stop", extra={"seconds": self.drain_seconds})

    async def stop(self) -> None:
        """Cancel the loop, even mid-tick (what is not marked fires again); ``drain`` first to avoid that."""
        await cancel(self._task)
        self._task = None
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def tick(self) -> int:
        async with self.busy:
            if self.stopping:
                return 0
            owned = self._seen = self.owned()
            self._full = False
            if self._rest is not None:
                self._rest.forget()
            if owned is not None and not owned:
                return 0
            due = await self._due(owned)
            self._unfired = False
            if not due:
                return 0
            fired = await (self._each(due) if self.fire_many is None else self._together(due, self.fire_many))
            self.fired += fired
            self._full = len(due) >= self.batch
            self._unfired = fired < len(due)
            return fired

    async def _due(self, owned: set[int] | None) -> list[Timer]:
        now = self.clock.now()
        if self._rest is None:
            return await self.store.due(now, owned, self.batch)
        due, upcoming = await self.store.due_and_next(now, self._rest.window(now), owned, self.batch)
        self._rest.found(now, upcoming)
        return due

    async def _each(self, due: list[Timer]) -> int:
        fire = self.fire
        assert fire is not None
        done: list[str] = []
        slots = asyncio.Semaphore(self.concurrency)

        async def one_ticket(timers: list[Timer]) -> None:
            async with slots:
                for timer in timers:
                    try:
                        await fire(timer)
                    except NotYet:
                        return  # it and the ticket's later timers stay due: the next tick tries them again, in order
                    done.append(timer.id)

        try:
            results = await asyncio.gather(*(one_ticket(g) for g in by_ticket(due)), return_exceptions=True)
        finally:  # also when cancelled: what took effect is not fired again
            await self.store.mark_fired_many(done, self.clock.now())
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        return len(done)

    async def _together(self, due: list[Timer], fire_many: FireMany) -> int:
        done = await fire_many(due)
        await self.store.mark_fired_many(done, self.clock.now())
        return len(done)

    async def _run(self) -> None:
        while True:
            try:
                fired, self._failed = await self.tick(), False
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer tick failed")
                fired, self._failed = 0, True
            if not self._more_due(fired):
                await self._pause()

    async def _pause(self) -> None:
        if self._rest is None or self._unfired:
            await asyncio.sleep(self.interval)
        else:
            await self._rest.rest(self._seen, after_failure=self._failed)

    def _more_due(self, fired: int) -> bool:
        """Whether to tick again at once: while a full page came due (a backlog). Polling one by one, also after
        anything fired, as firing may have scheduled more; a resting loop is told of those (``Rest.told``)."""
        return bool(fired) and (self._full or (self.fire_many is None and self._rest is None))
