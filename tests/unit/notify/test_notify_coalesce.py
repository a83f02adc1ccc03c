"""Calls made while a batch is in flight go to the database together, each caller getting its own answer."""

from __future__ import annotations

import asyncio

import pytest

from services.notify.coalesce import Coalescer


async def test_concurrent_calls_share_one_run_and_each_gets_its_own_result() -> None:
    runs: list[list[int]] = []

    async def square(items: list[int]) -> list[int]:
        runs.append(list(items))
        await asyncio.sleep(0)
        return [i * i for i in items]

    c: Coalescer[int, int] = Coalescer(square)
    assert await asyncio.gather(*(c(i) for i in range(5))) == [0, 1, 4, 9, 16]
    assert runs == [[0, 1, 2, 3, 4]]


async def test_calls_arriving_during_a_run_wait_for_it_and_go_together_in_the_next() -> None:
    runs: list[list[str]] = []
    gate = asyncio.Event()

    async def run(items: list[str]) -> list[str]:
        runs.append(list(items))
        if len(runs) == 1:
            await gate.wait()
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run)
    first = asyncio.create_task(c("a"))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(c(x)) for x in "bcd"]
    await asyncio.sleep(0.01)
    assert runs == [["a"]]  # one run in flight at a time
    gate.set()
    assert [await first, *[await t for t in later]] == ["A", "B", "C", "D"]
    assert runs == [["a"], ["b", "c", "d"]]


async def test_a_failed_run_fails_every_caller_of_that_batch_and_the_next_batch_runs() -> None:
    calls = 0

    async def run(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")
        return items

    c: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(c(1), c(2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert await c(3) == 3


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    async def run(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        return items

    c: Coalescer[int, int] = Coalescer(run)
    gone, kept = asyncio.create_task(c(1)), asyncio.create_task(c(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_run_must_answer_every_item() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:1]

    c: Coalescer[int, int] = Coalescer(short)
    with pytest.raises(RuntimeError, match="2 items"):
        await asyncio.gather(c(1), c(2))


async def test_a_lingering_coalescer_lets_calls_that_arrive_just_behind_the_first_join_its_run() -> None:
    runs: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        runs.append(list(items))
        return items

    async def later(c: Coalescer[int, int], i: int, after: float) -> int:
        await asyncio.sleep(after)
        return await c(i)

    lingering: Coalescer[int, int] = Coalescer(run, linger=0.2)
    assert await asyncio.gather(lingering(1), later(lingering, 2, 0.05)) == [1, 2]
    assert runs == [[1, 2]]  # one command for both
    runs.clear()
    eager: Coalescer[int, int] = Coalescer(run)
    assert await asyncio.gather(eager(1), later(eager, 2, 0.05)) == [1, 2]
    assert runs == [[1], [2]]  # without a linger the second came too late
