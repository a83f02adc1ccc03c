"""What a handler needs from the outside world, as Protocols: the real adapters (``KafkaBus``, ``TimerStore``)
satisfy them structurally, and so do the in-memory fakes the handler unit tests use (tests/support/fakes.py).

A service's own store protocol lives next to its handler; only what several services share is declared here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.contracts.envelope import Envelope
from shared.contracts.topics import TopicSpec


class Bus(Protocol):
    """Publishes envelopes to a topic, keyed by their ticket id."""

    async def publish(self, spec: TopicSpec, env: Envelope) -> None: ...

    async def publish_many(self, spec: TopicSpec, envs: Sequence[Envelope]) -> None: ...


class Timers(Protocol):
    """Durable per-ticket timers a handler schedules and cancels (the timer loop fires them)."""

    async def schedule(self, timer_id: str, ticket_id: str, due_at: datetime, kind: str,
                       data: dict[str, Any] | None = None) -> None: ...

    async def cancel(self, timer_id: str) -> None: ...

    async def cancel_for_ticket(self, ticket_id: str, kinds: Iterable[str] | None = None) -> int: ...
