"""A periodic sweep with a backoff rests twice as long after each round that found nothing, up to its bound, and
goes back to the interval when a round finds something or fails; without one it keeps the interval."""

from __future__ import annotations

import asyncio

from shared.runtime.service import Periodic


async def run_rounds(results: list[object], backoff: int) -> list[float]:
    rests: list[float] = []
    done = asyncio.Event()
    answers = iter(results)

    async def work() -> object:
        rests.append(periodic.rest)
        answer = next(answers, None)
        if len(rests) == len(results):
            done.set()
        if isinstance(answer, Exception):
            raise answer
        return answer

    periodic = Periodic("test", 0.001, work, backoff=backoff)
    await periodic.start()
    await asyncio.wait_for(done.wait(), 30)
    await periodic.stop()
    return rests


async def test_empty_rounds_rest_ever_longer_up_to_the_bound_and_a_find_resets() -> None:
    rests = await run_rounds([0, 0, 0, 0, 0, 2, 0, RuntimeError("db away"), 0], backoff=8)
    assert rests == [0.001, 0.002, 0.004, 0.008, 0.008, 0.008, 0.001, 0.002, 0.001]


async def test_without_a_backoff_the_interval_stays() -> None:
    assert await run_rounds([None, 0, None], backoff=1) == [0.001, 0.001, 0.001]
