"""tickets.events → each ticket's search state (stored with the event ids applied) → the indexer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.runtime.clock import Clock
from shared.runtime.kafka import Poison

from .domain import SearchState, apply, fold


class States(Protocol):
    async def load(self, ticket_id: str) -> SearchState | None: ...

    async def save(self, state: SearchState, before: SearchState | None, at: datetime) -> None: ...

    async def save_newest(self, state: SearchState, at: datetime) -> SearchState: ...

    async def history(self, ticket_id: str) -> list[dict[str, Any]]: ...


class Pending(Protocol):
    def add(self, state: SearchState) -> None: ...


class SearchHandler:
    def __init__(self, store: States, pending: Pending, clock: Clock) -> None:
        self.store, self.pending, self.clock = store, pending, clock

    async def __call__(self, item: tuple[Envelope, Message]) -> None:
        env, ev = item
        if isinstance(ev, tickets.CommandRejected):
            return
        state = await self.store.load(env.ticket_id)
        if state is None and not isinstance(ev, tickets.TicketOpened):
            # Its opening is older than the topic keeps (or this service started late): the ledger's history has
            # the ticket up to this event at least, since the ledger stores before it publishes.
            rebuilt = fold(await self.store.history(env.ticket_id))
            if rebuilt is None or env.id not in rebuilt.seen:
                raise Poison(f"{env.type} for {env.ticket_id}, a ticket the ledger does not have")
            self.pending.add(await self.store.save_newest(rebuilt, self.clock.now()))
            return
        try:
            new = apply(state, env, ev)
        except ValueError as exc:  # an event the read model cannot apply will never apply
            raise Poison(str(exc)) from exc
        if new is None:
            return
        await self.store.save(new, state, self.clock.now())
        self.pending.add(new)
