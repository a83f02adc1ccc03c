"""Routing's ports (``services.routing.handlers.Projection`` and ``StaffSource``) over dicts."""

from __future__ import annotations

from collections.abc import Iterable

from services.routing.projection import TicketView
from services.routing.store import ConcurrentUpdate
from shared.contracts.schemas.common import WORKING_STATUSES
from shared.directory.classification import Topic, UrgencyRule
from shared.directory.routing import Staff


class FakeProjection:
    """Views with their version; a save on a stale version is refused, as the compare-and-set on ``_v`` is."""

    def __init__(self) -> None:
        self.views: dict[str, tuple[TicketView, int]] = {}

    async def get(self, ticket_id: str) -> tuple[TicketView | None, int]:
        view, version = self.views.get(ticket_id, (None, 0))
        return (view.model_copy(deep=True) if view else None), version

    async def save(self, view: TicketView, version: int) -> None:
        if self.views.get(view.id, (None, 0))[1] != version:
            raise ConcurrentUpdate(view.id)
        self.views[view.id] = (view.model_copy(deep=True), version + 1)

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
