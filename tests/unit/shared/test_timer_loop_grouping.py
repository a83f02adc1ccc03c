"""shared.runtime.timer_loop: due timers grouped by ticket, tickets fired side by side (bounded), one ticket's
timers in due order, marked in one write per tick."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.runtime.clock import ManualClock
from shared.runtime.timer_loop import TimerLoop, by_ticket
from shared.runtime.timers import NotYet, Timer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def tm(timer_id: str, ticket: str, minutes_ago: float) -> Timer:
    return Timer(timer_id, ticket, NOW - timedelta(minutes=minutes_ago), "k", {}, 0)


class Store:
    """Due timers, what was marked fired and in how many writes."""

    def __init__(self, timers: Iterable[Timer]) -> None:
        self.timers = {t.id: t for t in timers}
        self.fired: list[str] = []
        self.writes = 0

    async def due(self, now: datetime, partitions: Iterable[int] | None, limit: int = 500) -> list[Timer]:
        return sorted((t for t in self.timers.values() if t.id not in self.fired and t.due_at <= now),
                      key=lambda t: t.due_at)[:limit]

    async def mark_fired_many(self, timer_ids: Sequence[str], at: datetime) -> None:
        self.fired.extend(timer_ids)
        self.writes += 1

    def on_schedule(self, listener: object) -> None:
        pass


def test_by_ticket_keeps_each_tickets_timers_in_due_order_and_tickets_by_their_earliest() -> None:
    due = [tm("b2", "B", 1), tm("a1", "A", 5), tm("b1", "B", 3), tm("c1", "C", 4), tm("a2", "A", 2)]
    groups = by_ticket(due)
    assert [[t.id for t in g] for g in groups] == [["a1", "a2"], ["c1"], ["b1", "b2"]]
    assert by_ticket([]) == []


async def test_tickets_fire_side_by_side_bounded_and_one_tickets_timers_never_overlap() -> None:
    due = [tm(f"{k}{i}", k, 10 - i) for k in "ABCDEF" for i in range(3)]
    store, running, peak, order = Store(due), set(), [0], []
    gate = asyncio.Event()

    async def fire(t: Timer) -> None:
        assert t.ticket_id not in running, "two timers of one ticket at once"
        running.add(t.ticket_id)
        peak[0] = max(peak[0], len(running))
        if len(running) >= 3:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)
        order.append(t.id)
        running.discard(t.ticket_id)

    loop = TimerLoop(store, ManualClock(NOW), fire, concurrency=3)  # type: ignore[arg-type]
    assert await loop.tick() == 18
    assert peak[0] == 3, "three tickets at a time, no more"
    for k in "ABCDEF":
        assert [i for i in order if i[0] == k] == [f"{k}0", f"{k}1", f"{k}2"], "one ticket's timers in due order"
    assert sorted(store.fired) == sorted(t.id for t in due) and store.writes == 1, "marked in one write"


async def test_not_yet_holds_that_tickets_later_timers_and_not_the_others() -> None:
    store, seen = Store([tm("a1", "A", 3), tm("a2", "A", 2), tm("b1", "B", 1)]), []

    async def fire(t: Timer) -> None:
        if t.id == "a1":
            raise NotYet(t.id)
        seen.append(t.id)

    loop = TimerLoop(store, ManualClock(NOW), fire, concurrency=4)  # type: ignore[arg-type]
    assert await loop.tick() == 1
    assert seen == ["b1"] and store.fired == ["b1"]
    assert [t.id for t in await store.due(NOW, None)] == ["a1", "a2"], "still due, in order, for the next tick"


async def test_a_failing_timer_stays_due_and_what_fired_before_it_is_still_marked() -> None:
    store, seen = Store([tm("a1", "A", 3), tm("a2", "A", 2), tm("b1", "B", 1), tm("c1", "C", 1)]), []

    async def fire(t: Timer) -> None:
        if t.id == "a2":
            raise RuntimeError("database went away")
        seen.append(t.id)

    loop = TimerLoop(store, ManualClock(NOW), fire, concurrency=2)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await loop.tick()
    assert sorted(store.fired) == sorted(seen) == ["a1", "b1", "c1"], "done effects are marked: not fired twice"
    assert [t.id for t in await store.due(NOW, None)] == ["a2"]
