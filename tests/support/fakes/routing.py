"""Routing's ports (``services.routing.handlers.Projection`` and ``StaffSource``) over dicts, and the many-at-a-time
methods its batches write through (``BatchProjection``, ``BatchTimers``), each defined by the one-at-a-time method
it batches."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from services.routing.projection import TicketView
from services.routing.store import ConcurrentUpdate
from shared.contracts.schemas.common import WORKING_STATUSES
from shared.directory.classification import Topic, UrgencyRule
from shared.directory.routing import Staff
from shared.runtime.timers import Timer
from tests.support.fakes import FakeTimers


class FakeProjection:
    """Views with their version; a save on a stale version is refused, as the compare-and-set on ``_v`` is."""

    def __init__(self) -> None:
        self.views: dict[str, tuple[TicketView, int]] = {}  # as saved
        self.kept: dict[str, tuple[TicketView, int]] = {}  # remembered unwritten, as ``ViewMemory`` keeps them

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]:
        view, version = self.kept.get(ticket_id) or self.views.get(ticket_id, (None, 0))
        return (view.model_copy(deep=True) if view else None), version

    async def save(self, view: TicketView, version: int) -> None:
        if self.views.get(view.id, (None, 0))[1] != version:
            self.kept.pop(view.id, None)
            raise ConcurrentUpdate(view.id)
        self.kept.pop(view.id, None)
        self.views[view.id] = (view.model_copy(deep=True), version + 1)

    def remember(self, view: TicketView, version: int) -> None:
        self.kept[view.id] = (view.model_copy(deep=True), version)

    def forget(self) -> None:
        """A rebalance: only what was saved is left."""
        self.kept.clear()

    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]:
        out = dict.fromkeys(sorted(set(agent_ids)), 0)
        for view, _ in self.views.values():
            if view.status in WORKING_STATUSES and view.assignee_id in out:
                out[view.assignee_id] += 1
        return out


class FakeStaff:
    """A fixed directory snapshot; tests replace ``staff`` to change who works where."""

    def __init__(self, staff: Staff | None = None, topics: list[Topic] | None = None,
                 urgency: list[UrgencyRule] | None = None) -> None:
        self.staff = staff or Staff()
        self.topics, self.urgency = topics or [], urgency or []

    async def snapshot(self) -> Staff:
        return self.staff

    async def triage(self) -> tuple[list[Topic], list[UrgencyRule]]:
        return self.topics, self.urgency


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
