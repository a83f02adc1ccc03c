"""Notify's ports (``services.notify.handlers.NotifyStorage``, ``Directories``, ``Waker``) over dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.notify.projection import TicketView
from shared.directory.notify import NotifyPreference, TemplateOverride
from shared.directory.routing import Staff


class FakeNotifyStore:
    """Views, deliveries and in-app items by id; a delivery or item already there is not added again."""

    def __init__(self) -> None:
        self.views: dict[str, TicketView] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.inbox: dict[str, dict[str, Any]] = {}

    async def view(self, ticket_id: str, opening: bool = False) -> TicketView | None:
        view = self.views.get(ticket_id)
        return view.model_copy(deep=True) if view else None

    async def save_view(self, view: TicketView) -> None:
        self.views[view.ticket_id] = view.model_copy(deep=True)

    async def save_views(self, views: Sequence[TicketView]) -> None:
        for view in views:
            await self.save_view(view)

    async def add_deliveries(self, docs: Sequence[dict[str, Any]]) -> int:
        new = [d for d in docs if d["_id"] not in self.deliveries]
        self.deliveries.update({d["_id"]: dict(d) for d in new})
        return len(new)

    async def add_inbox(self, docs: Sequence[dict[str, Any]]) -> None:
        for d in docs:
            self.inbox.setdefault(d["_id"], dict(d))

    async def release_held(self, ticket_id: str, cause_id: str, seq: int | None) -> int:
        held = [d for d in self.deliveries.values() if d["ticket_id"] == ticket_id and d.get("held_for") == cause_id
                and d["status"] == "held"]
        for d in held:
            d.update(status="pending", seq=seq)
            d.pop("held_for")
        return len(held)


class FakeDirectories:
    def __init__(self, staff: Staff | None = None, prefs: dict[str, NotifyPreference] | None = None) -> None:
        self.staff, self.prefs = staff or Staff(), prefs or {}
        self.templates: dict[str, TemplateOverride] = {}

    async def snapshot(self) -> tuple[Staff, dict[str, NotifyPreference]]:
        return self.staff, self.prefs


class FakeWaker:
    """Records which channels the handler said have new work."""

    def __init__(self) -> None:
        self.woken: list[set[str] | None] = []

    def wake(self, channels: set[str] | None = None) -> None:
        self.woken.append(channels)
