"""Batches handed in within the window run as one, each caller's records in order; a joint batch that fails has each
caller handle its own records alone, so one bad record fails no other caller."""

from __future__ import annotations

import asyncio

import pytest

from shared.runtime.coalesce import Coalesced


class Handler:
    def __init__(self, bad: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.bad = bad

    async def __call__(self, items: list[str]) -> None:
        self.calls.append(list(items))
        await asyncio.sleep(0)
        if self.bad in items:
            raise ValueError(f"{self.bad} cannot be handled")


async def test_batches_handed_in_together_run_as_one_in_order() -> None:
    handler = Handler()
    joint = Coalesced(handler, 0.01)
    await asyncio.gather(joint(["a1", "a2"]), joint(["b1"]), joint(["c1", "c2"]))
    assert handler.calls == [["a1", "a2", "b1", "c1", "c2"]]
    await joint(["d1"])  # a later one starts a group of its own
    assert handler.calls[-1] == ["d1"]


async def test_a_failed_joint_batch_has_each_caller_handle_its_own_alone() -> None:
    handler = Handler(bad="b1")
    joint = Coalesced(handler, 0.01)
    results = await asyncio.gather(joint(["a1"]), joint(["b1"]), joint(["c1"]), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ValueError) and results[2] is None
    assert handler.calls[0] == ["a1", "b1", "c1"] and sorted(handler.calls[1:]) == [["a1"], ["b1"], ["c1"]]


async def test_a_caller_alone_hears_its_own_error_once() -> None:
    handler = Handler(bad="x")
    with pytest.raises(ValueError):
        await Coalesced(handler, 0)(["x"])
    assert handler.calls == [["x"]]


async def test_a_cancelled_caller_leaves_the_others_their_batch() -> None:
    handler = Handler()
    joint = Coalesced(handler, 0.05)
    gone = asyncio.ensure_future(joint(["a1"]))
    kept = asyncio.ensure_future(joint(["b1"]))
    await asyncio.sleep(0)
    gone.cancel()  # a rebalance: its records go to the partition's next owner, not into the joint batch
    await kept
    assert handler.calls == [["b1"]] and gone.cancelled()



async def test_a_later_window_does_not_wait_for_an_earlier_batch() -> None:
    release, calls = asyncio.Event(), []

    async def slow_first(items: list[str]) -> None:
        calls.append(items)
        if items == ["a1"]:
            await release.wait()

    joint = Coalesced(slow_first, 0.01)
    first = asyncio.ensure_future(joint(["a1"]))
    await asyncio.sleep(0.05)  # the first window closed; its batch is still running
    await asyncio.wait_for(joint(["b1"]), 5)  # another partition's records go in a window of their own
    assert calls == [["a1"], ["b1"]] and not first.done()
    release.set()
    await first
