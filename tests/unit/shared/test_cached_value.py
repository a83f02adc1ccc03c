"""``shared.runtime.cached.Cached``: one load for concurrent callers, a cancelled caller leaves it to the others,
a failed load is tried again by the next caller."""

from __future__ import annotations

import asyncio

import pytest

from shared.runtime.cached import Cached


async def test_one_load_for_concurrent_callers_and_cancel_leaves_it_to_the_rest() -> None:
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return loads

    cached = Cached(load, ttl=60)
    first = asyncio.create_task(cached.get())
    rest = [asyncio.create_task(cached.get()) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await asyncio.gather(*rest) == [1] * 5
    assert await cached.get() == 1 and loads == 1


async def test_a_failed_load_is_retried_by_the_next_caller() -> None:
    outcomes: list[int | Exception] = [RuntimeError("down"), 7]

    async def load() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cached = Cached(load, ttl=60)
    with pytest.raises(RuntimeError):
        await cached.get()
    assert await cached.get() == 7
