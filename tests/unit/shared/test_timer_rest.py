"""shared.runtime.timer_rest and a resting TimerLoop: one query per tick serves the rest after it; the rest ends only
for what the loop is told (a timer scheduled sooner, partitions assigned, a clock moved) or notices in process (a
clock that jumps without telling, partitions a library changed), never by asking the database again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.runtime import timer_rest
from shared.runtime.clock import ManualClock
from shared.runtime.timer_loop import OwnedPartitions, TimerLoop
from shared.runtime.timer_rest import Rest
from shared.runtime.timers import Timer
from tests.support.testing import eventually

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Store:
    """Pending timers; counts the queries (``due_and_next``) and keeps the schedule listener."""

    def __init__(self, timers: Iterable[Timer] = ()) -> None:
        self.timers = {t.id: t for t in timers}
        self.fired: list[str] = []
        self.queries = 0
        self.listeners: list[Callable[[datetime], None]] = []

    async def due_and_next(self, now: datetime, until: datetime, partitions: Iterable[int] | None,
                           limit: int = 500) -> tuple[list[Timer], datetime | None]:
        self.queries += 1
        wanted = set(partitions) if partitions is not None else None
        pending = sorted((t for t in self.timers.values() if t.id not in self.fired and t.due_at <= until),
                         key=lambda t: t.due_at)
        due = [t for t in pending if t.due_at <= now and (wanted is None or t.partition in wanted)]
        return due[:limit], next((t.due_at for t in pending if t.due_at > now), None)

    async def mark_fired_many(self, timer_ids: Sequence[str], at: datetime) -> None:
        self.fired.extend(timer_ids)

    def on_schedule(self, listener: Callable[[datetime], None]) -> None:
        self.listeners.append(listener)

    def schedule(self, timer: Timer) -> None:
        self.timers[timer.id] = timer
        for listener in self.listeners:
            listener(timer.due_at)


class Jumpy:
    """A clock that jumps without telling anyone (like a FileClock another process writes)."""

    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


def timer(timer_id: str, due: datetime, partition: int = 0) -> Timer:
    return Timer(timer_id, f"T-{timer_id}", due, "k", {}, partition)


async def until_done(task: asyncio.Future[object], seconds: float = 10.0) -> None:
    await asyncio.wait_for(task, seconds)


def test_the_window_widens_while_empty_and_narrows_to_the_next_timer() -> None:
    rest = Rest(ManualClock(NOW), lambda: None, interval=0.1, idle_max=30.0)
    widths = []
    for _ in range(8):
        rest.found(NOW, None)
        widths.append(rest.horizon)
    assert widths == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    rest.found(NOW, NOW + timedelta(seconds=0.5))
    assert rest.horizon == 1.0, "timers coming often: the window reads about two of them"
    rest.found(NOW, NOW + timedelta(milliseconds=10))
    assert rest.horizon == 0.1, "never below the interval"


async def test_a_loop_asks_once_per_tick_and_rests_until_the_timer_it_found() -> None:
    clock, store, fired = ManualClock(NOW), Store([timer("a", NOW + timedelta(seconds=20))]), []

    async def fire(t: Timer) -> None:
        fired.append(t.id)

    loop = TimerLoop(store, clock, fire, interval=0.01, idle_max=60.0)  # type: ignore[arg-type]
    loop._rest.horizon = 30.0  # type: ignore[union-attr]
    await loop.start()
    try:
        await eventually(lambda: store.queries == 1, timeout=10, message="the first tick")
        await asyncio.sleep(0.3)  # resting: thirty intervals without a query
        assert store.queries == 1 and not fired
        clock.advance(20)  # the clock tells the loop it moved
        await eventually(lambda: fired, timeout=10, message="fired once the clock reached it")
        await asyncio.sleep(0.1)
        assert fired == ["a"] and store.queries == 2, "the tick that fired it asked once, and it rests again"
    finally:
        await loop.stop()


async def test_a_timer_scheduled_sooner_ends_the_rest_at_its_time_without_a_query() -> None:
    clock = ManualClock(NOW)
    rest = Rest(clock, lambda: None, interval=0.01, idle_max=60.0)
    rest.window(NOW)
    rest.found(NOW, None)  # nothing pending: it would rest the whole window
    task = asyncio.ensure_future(rest.rest(None))
    await asyncio.sleep(0.05)
    rest.told(NOW + timedelta(seconds=5))
    await asyncio.sleep(0.05)
    assert not task.done(), "the told timer is not due yet"
    clock.advance(5)
    await until_done(task)


async def test_a_clock_moved_while_the_query_ran_does_not_push_the_rest_past_the_window() -> None:
    clock = ManualClock(NOW)
    rest = Rest(clock, lambda: None, interval=0.01, idle_max=60.0)
    rest.window(NOW)  # a tick's query looks a second ahead of NOW
    rest.found(NOW, None)  # and finds nothing there
    clock.advance(3600)  # before the rest begins: timers due in the hour were never looked for
    await until_done(asyncio.ensure_future(rest.rest(None)), 1.0)


async def test_partitions_assigned_end_the_rest() -> None:
    owned = OwnedPartitions("events")
    rest = Rest(ManualClock(NOW), owned, interval=0.01, idle_max=60.0)
    owned.on_change(rest.wake)
    task = asyncio.ensure_future(rest.rest(set()))
    await asyncio.sleep(0.05)
    assert not task.done()

    class TP:
        topic, partition = "events", 3

    await owned.assigned({TP()})
    await until_done(task, 1.0)


async def test_what_no_one_tells_is_noticed_within_a_look(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer_rest, "LOOK_SECONDS", 0.05)
    partitions: set[int] = set()
    clock = Jumpy()
    rest = Rest(clock, lambda: set(partitions), interval=0.01, idle_max=60.0)  # type: ignore[arg-type]
    task = asyncio.ensure_future(rest.rest(set()))
    await asyncio.sleep(0.2)
    assert not task.done()
    partitions.add(1)  # a library changed the assignment and told no one
    await until_done(task, 5.0)

    task = asyncio.ensure_future(rest.rest({1}))
    await asyncio.sleep(0.2)
    assert not task.done()
    clock.at = NOW + timedelta(days=1)  # a shared test clock jumped
    await until_done(task, 5.0)


async def test_a_rest_lasts_at_most_idle_max_and_at_least_the_interval() -> None:
    rest = Rest(ManualClock(NOW), lambda: None, interval=0.2, idle_max=0.3)
    loop = asyncio.get_running_loop()
    rest.told(NOW - timedelta(seconds=1))  # already due: still the interval first
    t0 = loop.time()
    await rest.rest(None)
    assert 0.19 <= loop.time() - t0 < 5.0
    rest.window(NOW)  # a tick's query began: what was told before is in its answer
    t0 = loop.time()
    await rest.rest(None)  # a held clock never reaches the window's end: idle_max bounds the rest
    assert 0.29 <= loop.time() - t0 < 5.0
