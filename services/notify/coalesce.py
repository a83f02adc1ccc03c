"""Group commit: calls that arrive while one batch is at the database go together in the next one.

Notify's consumers handle each partition's records in a task of its own, one record at a time; their reads and
writes of the ticket view and the delivery queue are the same few commands per record. Coalescing them turns
twelve partitions' commands into one (a ``find`` with ``$in``, a ``bulk_write``) without holding any record
back: a caller still awaits its own write before its record's offset can be committed, so nothing is
acknowledged before it is durable. A short linger lets records of other tickets that arrive just behind join the
same command, at the cost of that much latency per record (never for a sent mark: it would widen the window in which
a crash sends a mail twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """``await c(item)`` runs ``run([item, ...])`` with every item waiting at that moment; one run at a time."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], linger: float = 0.0) -> None:
        """``linger``: how long the first caller of an idle coalescer waits for others (a group-commit window)."""
        self.run, self.linger = run, linger
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(self.linger)  # the other ready tasks (and, lingering, the next few) add theirs first
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._run(batch)
        except asyncio.CancelledError:
            for _, future in self._waiting:
                future.cancel()
            self._waiting = []
            raise
        finally:
            self._task = None

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self.run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} items got {len(results)} results")
        except asyncio.CancelledError:  # stopping: nobody waits forever for an answer
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every caller of this batch retries its own record
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a caller cancelled meanwhile
                future.set_result(result)
