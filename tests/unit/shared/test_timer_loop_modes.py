"""shared.runtime.timer_loop: one timer loop, fired one by one or in batches, over an in-memory timer store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.runtime.clock import ManualClock
from shared.runtime.timer_loop import TimerLoop
from shared.runtime.timers import NotYet, Timer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeTimerStore:
    """Due timers and what was marked fired, with how many writes the marking took."""

    def __init__(self, timers: Iterable[Timer]) -> None:
        self.timers = {tm.id: tm for tm in timers}
        self.fired: list[str] = []
        self.writes = 0

    async def due(self, now: datetime, partitions: Iterable[int] | None, limit: int = 500) -> list[Timer]:
        wanted = set(partitions) if partitions is not None else None
        due = sorted((tm for tm in self.timers.values() if tm.id not in self.fired and tm.due_at <= now
                      and (wanted is None or tm.partition in wanted)), key=lambda tm: tm.due_at)
        return due[:limit]

    async def mark_fired(self, timer_id: str, at: datetime) -> None:
        self.fired.append(timer_id)
        self.writes += 1

    async def mark_fired_many(self, timer_ids: Sequence[str], at: datetime) -> None:
        self.fired.extend(timer_ids)
        self.writes += 1


def timers(n: int, partition: int = 0) -> list[Timer]:
    return [Timer(f"t{i}", f"T-{i}", NOW - timedelta(minutes=n - i), "k", {}, partition) for i in range(n)]


async def test_one_by_one_marks_what_took_effect_in_one_write_and_leaves_not_yet_due() -> None:
    store, seen = FakeTimerStore(timers(3)), []

    async def fire(tm: Timer) -> None:
        if tm.id == "t1":
            raise NotYet(tm.id)
        seen.append(tm.id)

    loop = TimerLoop(store, ManualClock(NOW), fire)  # type: ignore[arg-type]
    assert await loop.tick() == 2
    assert seen == ["t0", "t2"] and store.fired == ["t0", "t2"] and store.writes == 1
    assert [tm.id for tm in await store.due(NOW, None)] == ["t1"], "still due for the next tick"


async def test_batch_mode_fires_a_tick_together_and_marks_what_the_owner_is_done_with_in_one_write() -> None:
    store, batches, waiting = FakeTimerStore(timers(4)), [], {"t1"}

    async def fire_many(due: Sequence[Timer]) -> list[str]:
        batches.append([tm.id for tm in due])
        return [tm.id for tm in due if tm.id not in waiting]  # t1 waits for its clock

    loop = TimerLoop(store, ManualClock(NOW), fire_many=fire_many, batch=3)  # type: ignore[arg-type]
    assert await loop.tick() == 2
    assert batches == [["t0", "t1", "t2"]] and store.fired == ["t0", "t2"] and store.writes == 1
    assert loop._more_due(2), "a full batch came due: a backlog, tick again at once"
    waiting.clear()
    assert await loop.tick() == 2 and batches[-1] == ["t1", "t3"]
    assert not loop._more_due(2), "less than a batch: wait for the interval"


async def test_only_owned_partitions_fire_and_none_while_ownership_is_fenced_off() -> None:
    store = FakeTimerStore([*timers(2, partition=1), Timer("x", "T-x", NOW, "k", {}, 2)])
    owned: set[int] = {2}

    async def fire(tm: Timer) -> None:
        pass

    loop = TimerLoop(store, ManualClock(NOW), fire, owned=lambda: owned)  # type: ignore[arg-type]
    assert await loop.tick() == 1 and store.fired == ["x"]
    owned = set()
    assert await loop.tick() == 0 and store.fired == ["x"]


async def test_drain_waits_for_the_tick_in_flight_and_starts_no_other() -> None:
    store, entered, release = FakeTimerStore(timers(2)), asyncio.Event(), asyncio.Event()

    async def fire_many(due: Sequence[Timer]) -> list[str]:
        entered.set()
        await release.wait()
        return [tm.id for tm in due]

    loop = TimerLoop(store, ManualClock(NOW), fire_many=fire_many)  # type: ignore[arg-type]
    tick = asyncio.create_task(loop.tick())
    await entered.wait()
    drained = asyncio.create_task(loop.drain())
    await asyncio.sleep(0)
    assert not drained.done(), "the batch in flight is not cut between its effect and its marking"
    release.set()
    await drained
    assert await tick == 2 and store.fired == ["t0", "t1"]
    store.timers["late"] = Timer("late", "T-late", NOW, "k", {}, 0)
    assert await loop.tick() == 0, "stopping: no further batch"


def test_a_loop_takes_one_way_of_firing() -> None:
    with pytest.raises(TypeError):
        TimerLoop(FakeTimerStore([]), ManualClock(NOW))  # type: ignore[arg-type]
