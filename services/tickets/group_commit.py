"""The ledger's writes of all its partition tasks, sent together: one command per collection per short window.

A consumer handles each partition in a task of its own, so at a desk's pace most batches hold one command, and
writing each alone cost one database command per ticket change. Writes that arrive while a window is open go out
in one ``bulk_write``; windows do not wait for each other's writes. Each ticket write stays guarded by the version
it read; a write refused in a group fails the tasks it cannot be told apart from, and those tasks read their
tickets again, as after a crash between a write and its offset commit (a landed command is on its ticket's
processed list).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from shared.runtime.mongo import duplicates_only

from .handlers import ConcurrentWrite

Op = InsertOne[Any] | UpdateOne


@dataclass
class _Request:
    commands: list[dict[str, Any]]  # refusals to keep before any ticket write names them
    ops: list[Op]  # each must insert or match exactly one ticket
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    def __init__(self, tickets: AsyncCollection[Any], commands: AsyncCollection[Any], window: float) -> None:
        self.tickets, self.commands, self.window = tickets, commands, window
        self._queue: list[_Request] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, commands: list[dict[str, Any]], ops: list[Op], *, alone: bool = False) -> None:
        """Returns once the group holding these writes landed; raises ConcurrentWrite if they may not have.
        ``alone``: a batch's writes, a group already: written at once, without waiting for a window."""
        request = _Request(commands, ops)
        if alone:
            try:
                await self._write([request])
            except Exception as exc:
                raise ConcurrentWrite(f"a batch write failed: {exc!r}") from exc
            await request.done
            return
        self._queue.append(request)
        if self._writer is None:
            self._writer = asyncio.create_task(self._group(), name="ledger-group-commit")
        await request.done

    async def _group(self) -> None:
        """One window's writes. Groups do not wait for each other: a ticket's next write comes from its partition's
        task once this one returned, so two groups never hold writes of one ticket."""
        try:
            await asyncio.sleep(self.window)  # 0 still lets the tasks of one fetch add their writes
        except BaseException:
            self._writer = None
            group, self._queue = self._queue, []
            _settle(group, ConcurrentWrite("the group writer stopped"))
            raise
        self._writer = None  # writes from now on open the next window
        group, self._queue = self._queue, []
        try:
            await self._write(group)
        except Exception as exc:  # unknown what landed: each task reads its tickets again
            _settle(group, ConcurrentWrite(f"a group write failed: {exc!r}"))
        except BaseException:
            _settle(group, ConcurrentWrite("the group writer stopped"))
            raise

    async def _write(self, group: list[_Request]) -> None:
        if commands := [c for r in group for c in r.commands]:
            try:
                await self.commands.insert_many(commands, ordered=False)
            except BulkWriteError as exc:
                duplicates_only(exc)
        ops = [(r, op) for r in group for op in r.ops]
        if not ops:
            _settle(group)
            return
        try:
            result = (await self.tickets.bulk_write([op for _, op in ops], ordered=False)).bulk_api_result
        except BulkWriteError as exc:
            result = dict(exc.details)
        errors = result.get("writeErrors", ())
        refused = [ops[e["index"]][0] for e in errors]
        if result.get("nInserted", 0) + result.get("nMatched", 0) == len(ops) - len(errors):
            _settle([r for r in group if all(r is not x for x in refused)])
            _settle(refused, ConcurrentWrite("a ticket write met another writer"))
        else:  # an update matched nothing, and a group's counts do not say whose
            _settle(group, ConcurrentWrite("a ticket of the group moved on"))


def _settle(requests: list[_Request], error: Exception | None = None) -> None:
    for r in requests:
        if r.done.done():  # settled already, or its task was cancelled (what landed is deduplicated later)
            continue
        if error is None:
            r.done.set_result(None)
        else:
            r.done.set_exception(error)
