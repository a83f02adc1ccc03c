"""The shared fakes with the many-at-a-time methods routing's handler writes through (``handlers.Projection``,
``effects.BatchTimers``), each defined by the one-at-a-time method it batches."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from services.routing.projection import TicketView
from shared.runtime.timers import Timer
from tests.support.fakes import FakeTimers
from tests.support.fakes.routing import FakeProjection


class BatchProjection(FakeProjection):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0  # save_many calls: one database write each
        self.reads = 0  # views read

    async def get_many(self, ticket_ids: Iterable[str], opening: Collection[str] = (),
                       ) -> dict[str, tuple[TicketView | None, int]]:
        self.reads += len(set(ticket_ids) - set(opening))
        return {ticket_id: (None, 0) if ticket_id in opening else await self.get(ticket_id)
                for ticket_id in set(ticket_ids)}

    async def save_many(self, saves: Sequence[tuple[TicketView, int]]) -> None:
        self.writes += 1
        for view, version in saves:
            await self.save(view, version)


class BatchTimers(FakeTimers):
    partitions = 4

    def __init__(self) -> None:
        super().__init__()
        self.scheduled: list[str] = []  # every timer id written, in order

    async def schedule_many(self, timers: Iterable[Timer]) -> None:
        for tm in timers:
            self.scheduled.append(tm.id)
            await self.schedule(tm.id, tm.ticket_id, tm.due_at, tm.kind, tm.data)

    async def cancel_for_tickets(self, ticket_ids: Iterable[str], kinds: Iterable[str] | None = None) -> None:
        for ticket_id in ticket_ids:
            await self.cancel_for_ticket(ticket_id, kinds)
