"""In-memory stand-ins for what handlers talk to (the Protocols in ``shared/runtime/ports.py`` and each service's
store protocol next to its handler), so a handler's rules run in milliseconds with no broker and no database.

In the style of *Architecture Patterns with Python*'s ``FakeRepository``: a dict holds what the store would,
and the bus keeps what was published, for the test to read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TopicSpec


class FakeBus:
    """Keeps every published envelope with its topic's name, in publication order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Envelope]] = []

    async def publish(self, spec: TopicSpec, env: Envelope) -> None:
        await self.publish_many(spec, [env])

    async def publish_many(self, spec: TopicSpec, envs: Sequence[Envelope]) -> None:
        self.published.extend((spec.name, e) for e in envs)

    def on(self, spec: TopicSpec) -> list[Envelope]:
        return [e for name, e in self.published if name == spec.name]

    def types(self, spec: TopicSpec) -> list[str]:
        return [e.type for e in self.on(spec)]

    def clear(self) -> None:
        self.published.clear()


@dataclass
class FakeTimer:
    ticket_id: str
    due_at: datetime
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    fired: bool = False


class FakeTimers:
    """``shared.runtime.ports.Timers`` over a dict: scheduling an id again moves it, a fired one stays fired."""

    def __init__(self) -> None:
        self.timers: dict[str, FakeTimer] = {}

    async def schedule(self, timer_id: str, ticket_id: str, due_at: datetime, kind: str,
                       data: dict[str, Any] | None = None) -> None:
        old = self.timers.get(timer_id)
        if old is None or not old.fired:
            self.timers[timer_id] = FakeTimer(ticket_id, due_at, kind, dict(data or {}))

    async def cancel(self, timer_id: str) -> None:
        if timer_id in self.timers and not self.timers[timer_id].fired:
            del self.timers[timer_id]

    async def cancel_for_ticket(self, ticket_id: str, kinds: Iterable[str] | None = None) -> int:
        wanted = None if kinds is None else set(kinds)
        gone = [k for k, tm in self.timers.items() if tm.ticket_id == ticket_id and not tm.fired
                and (wanted is None or tm.kind in wanted)]
        for k in gone:
            del self.timers[k]
        return len(gone)

    def pending(self, ticket_id: str | None = None, kind: str | None = None) -> dict[str, FakeTimer]:
        return {k: tm for k, tm in self.timers.items() if not tm.fired
                and (ticket_id is None or tm.ticket_id == ticket_id) and (kind is None or tm.kind == kind)}
