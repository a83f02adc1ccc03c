"""The batches a consumer's partition tasks hand in within a short window, handled as one batch.

A consumer handles each partition in a task of its own, so at a desk's pace most batches hold one record and each
costs its own reads and writes. Handed in together, the records of different partitions (different tickets) cost
one read and one write per collection. Each partition's records keep their order. If the joint batch fails, each
caller handles its own records alone, as the pipeline does after a failed batch: a batch handler is idempotent, so
what the joint run already did is deduplicated like a redelivery, and one bad record fails no other partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _JointFailed(Exception):
    pass


class Coalesced(Generic[T]):
    def __init__(self, batch: Callable[[list[T]], Awaitable[None]], window: float) -> None:
        self.batch, self.window = batch, window
        self._queue: list[tuple[list[T], asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, items: list[T]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._queue.append((items, done))
        if self._runner is None:
            self._runner = asyncio.create_task(self._window(), name="coalesced-batches")
        try:
            await done
        except _JointFailed:
            await self.batch(items)

    async def _window(self) -> None:
        """One window's batches. Windows do not wait for each other: a caller hands in again only once its last
        batch returned, so two joint batches never hold records of one partition."""
        try:
            await asyncio.sleep(self.window)
        except BaseException:  # stopping: each caller that is not stopping too handles its own records
            self._runner = None
            group, self._queue = self._queue, []
            _settle(group, _JointFailed("stopped"))
            raise
        self._runner = None  # batches from now on open the next window
        # a caller cancelled meanwhile (its partition revoked) leaves its records to the next owner
        group, self._queue = [(items, done) for items, done in self._queue if not done.done()], []
        if group:
            try:
                await self._joint(group)
            except BaseException:
                _settle(group, _JointFailed("stopped"))
                raise

    async def _joint(self, group: list[tuple[list[T], asyncio.Future[None]]]) -> None:
        try:
            await self.batch([item for items, _ in group for item in items])
        except Exception as exc:
            # alone, a caller hears its own error; joined, each tries its records alone
            _settle(group, exc if len(group) == 1 else _JointFailed(repr(exc)))
        else:
            _settle(group)


def _settle(group: list[tuple[list[T], asyncio.Future[None]]], error: Exception | None = None) -> None:
    for _, done in group:
        if done.done():  # its caller was cancelled: its records come again, deduplicated
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
