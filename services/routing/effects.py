"""What routing decided for a batch of records (or one due timer), written together: one write per kind.

Decisions are made one record after another in memory; their effects are gathered here and written in one go,
in the order a crash can live with: timers cancelled, timers scheduled, commands, events (and the caller saves
the views after all of them). A timer cancelled later in the same batch is never written at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from shared.contracts.envelope import Envelope
from shared.contracts.schemas.common import WORKING_STATUSES
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS
from shared.runtime.ports import Bus
from shared.runtime.timers import Timer

from .projection import TicketView


class BatchTimers(Protocol):
    """Routing's durable timers (``shared.runtime.timers.TimerStore``), written many at a time."""

    partitions: int

    async def schedule_many(self, timers: Iterable[Timer]) -> None: ...

    async def cancel_for_tickets(self, ticket_ids: Iterable[str], kinds: Iterable[str] | None = None) -> None: ...

    async def cancel(self, timer_id: str) -> None: ...


class LoadSource(Protocol):
    async def loads(self, agent_ids: Iterable[str]) -> dict[str, int]: ...


@dataclass
class Effects:
    kinds: tuple[str, ...]  # the timer kinds a cancel removes (all of routing's)
    cancelled: set[str] = field(default_factory=set)  # tickets whose pending timers go
    timers: dict[str, Timer] = field(default_factory=dict)  # to schedule, by id: scheduling an id again moves it
    armed: set[str] = field(default_factory=set)  # tickets a timer was scheduled for since their last cancel
    commands: list[Envelope] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)

    def cancel(self, ticket_id: str, stored: bool) -> None:
        """``stored``: the ticket may have timers in the database (else only this batch's are cancelled)."""
        if stored:
            self.cancelled.add(ticket_id)
        self.armed.discard(ticket_id)
        for timer_id in [i for i, tm in self.timers.items() if tm.ticket_id == ticket_id]:
            del self.timers[timer_id]  # scheduled earlier in the batch: cancelled before it was ever written

    def schedule(self, timer: Timer) -> None:
        self.timers.pop(timer.id, None)
        self.timers[timer.id] = timer
        self.armed.add(timer.ticket_id)

    def pending(self, ticket_id: str, stored: bool) -> bool:
        """May the ticket have a pending timer once this is written? ``stored``: it may have had one before."""
        return ticket_id in self.armed or (stored and ticket_id not in self.cancelled)

    async def write(self, timers: BatchTimers, bus: Bus) -> None:
        """Cancels before schedules: every schedule kept came after its ticket's last cancel."""
        if self.cancelled:
            await timers.cancel_for_tickets(sorted(self.cancelled), self.kinds)
        if self.timers:
            await timers.schedule_many(self.timers.values())
        if self.commands:
            await bus.publish_many(TICKETS_COMMANDS, self.commands)
        if self.events:
            await bus.publish_many(ROUTING_EVENTS, self.events)


def working_for(view: TicketView | None) -> str | None:
    """The agent this view counts towards in the agents' loads (``ProjectionStore.loads``), if any."""
    if view is None or view.status not in WORKING_STATUSES:
        return None
    return view.assignee_id


class Loads:
    """Agents' loads as one-by-one handling would read them: the stored counts, plus what the views decided
    earlier in the batch (not yet saved) move. ``stored`` and ``settled`` map each ticket of the batch to its
    stored view and to its view after the records decided so far."""

    def __init__(self, source: LoadSource, stored: Mapping[str, TicketView | None],
                 settled: Mapping[str, TicketView | None]) -> None:
        self.source, self.stored, self.settled = source, stored, settled
        self._base: tuple[frozenset[str], dict[str, int]] | None = None

    async def of(self, agent_ids: Iterable[str]) -> dict[str, int]:
        wanted = frozenset(agent_ids)
        if self._base is None or self._base[0] != wanted:  # nothing of the batch is saved yet: one read serves it
            self._base = wanted, await self.source.loads(wanted)
        out = dict(self._base[1])
        for ticket_id, view in self.settled.items():
            was, now = working_for(self.stored.get(ticket_id)), working_for(view)
            if was != now:
                if was in out:
                    out[was] -= 1
                if now in out:
                    out[now] += 1
        return out
