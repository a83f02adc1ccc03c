"""tickets.events → whether the tickets an article was linked to were settled by it: a client message after the
link means it was not; a resolution marks the ticket resolved. Tickets with no linked article cost one indexed
no-op update; every update is idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets


class Links(Protocol):
    async def client_wrote(self, ticket_id: str, at: datetime) -> None: ...

    async def resolved(self, ticket_id: str) -> None: ...


RESOLVING = (tickets.TicketResolved, tickets.TicketCompleted, tickets.TicketClosed)


class TicketOutcomes:
    def __init__(self, links: Links) -> None:
        self.links = links

    async def __call__(self, item: tuple[Envelope, Message]) -> None:
        env, ev = item
        if isinstance(ev, tickets.MessageReceived):
            await self.links.client_wrote(env.ticket_id, env.occurred_at)
        elif isinstance(ev, RESOLVING):
            await self.links.resolved(env.ticket_id)
