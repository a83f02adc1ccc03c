"""The indexer's rounds: the first catches up from the watermark, a round with nothing to index leaves the watermark
alone (an idle desk wrote it several times a second), a round that indexed moves it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.search.indexer import Indexer
from shared.runtime.clock import ManualClock

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Store:
    def __init__(self) -> None:
        self.marks: list[datetime] = []

    async def watermark(self) -> datetime | None:
        return self.marks[-1] if self.marks else None

    async def set_watermark(self, at: datetime) -> None:
        self.marks.append(at)

    async def written_since(self, at: datetime | None, batch: int) -> AsyncIterator[list[Any]]:
        if False:
            yield []


class Engine:
    async def count(self) -> int:
        return 0

    async def upsert(self, docs: Sequence[Any]) -> None:
        pass


async def test_only_a_round_that_indexed_moves_the_watermark() -> None:
    store, clock = Store(), ManualClock(START)
    indexer = Indexer(store, None, Engine(), clock, batch=10)  # type: ignore[arg-type]
    await indexer.round()  # the catch-up round
    assert store.marks == [START] and indexer.caught_up
    for _ in range(5):
        clock.advance(timedelta(seconds=1))
        await indexer.round()
    assert store.marks == [START]
