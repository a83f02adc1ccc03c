"""The clocks as this SLA instance last wrote them, kept while it holds their partitions.

A ticket's events come through one partition and its timers fire on the instance that holds it, so while this
instance holds the partition, the clock it last wrote is the clock stored, and the ticket's pending timers are the
next ones that clock implies (timers are synced before each clock write). The next event then needs neither a read
of the clock nor a read of its timers. Only what was written is kept, and only without an outbox (a clock still
carrying one goes through the read path, which publishes it). Every write stays guarded by the clock's version, so a
kept clock that is stale after all (another instance wrote it during a rebalance) costs a refused write and a fresh
read, never a lost update. Any change of the partitions held forgets everything, a refused or failed write and every
timer pass forget their tickets, and at most ``size`` clocks are kept, least recently used out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from .model import SlaClock, TimerPlan

Kept = tuple[SlaClock, list[TimerPlan]]


class KeptClocks:
    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[str, Kept] = OrderedDict()

    def take(self, ticket_id: str) -> Kept | None:
        """The kept clock and the plans its pending timers were synced to, no longer kept: the caller keeps what it
        writes next, and a write that fails or is refused leaves nothing kept."""
        return self._kept.pop(ticket_id, None)

    def keep(self, clock: SlaClock, plans: list[TimerPlan]) -> None:
        """``clock`` is what is stored now (its version included), and ``plans`` what its pending timers were synced
        to (not derived again: a directory change in between would make them differ)."""
        if self.size <= 0 or clock.outbox or clock.outbox_timers:
            self._kept.pop(clock.id, None)
            return
        self._kept[clock.id] = (clock, plans)
        self._kept.move_to_end(clock.id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def drop(self, ticket_ids: Iterable[str]) -> None:
        for ticket_id in ticket_ids:
            self._kept.pop(ticket_id, None)

    def forget(self) -> None:
        self._kept.clear()

    async def partitions_changed(self, *_: Any, **__: Any) -> None:
        """A rebalance hook (assigned or revoked): another instance may have written meanwhile."""
        self.forget()

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._kept
