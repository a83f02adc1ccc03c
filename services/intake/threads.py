"""Which existing ticket a message cites (our Message-ID, References, ``[#N]``) and whether it may join it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from shared.contracts.schemas.common import ClientRef
from shared.contracts.schemas.inbound import InboundMessage
from shared.runtime.clock import Clock

from .domain import can_join, own_ticket, subject_number, thread_refs
from .identity import may_continue
from .store import IntakeStore

Cited = tuple[str, dict[str, Any] | None]


class Threads:
    def __init__(self, store: IntakeStore, clock: Clock, *, domain: str, reopen_window: timedelta) -> None:
        self.store, self.clock, self.domain, self.reopen_window = store, clock, domain, reopen_window

    def joinable(self, doc: dict[str, Any]) -> bool:
        return can_join(doc["status"], doc.get("closed_at"), doc.get("completed_at"), self.clock.now(),
                        self.reopen_window)

    async def thread(self, msg: InboundMessage, client: ClientRef | None,
                     ) -> tuple[tuple[str, str] | None, dict[str, Any] | None]:
        """((ticket id, how it was found) of the first cited ticket this sender may continue, None), else
        (None, the first cited ticket it may not continue, to flag); a message citing nothing gets (None, None)."""
        refused: dict[str, Any] | None = None
        async with aclosing(self._cited(msg)) as cited:
            async for via, doc in cited:
                if doc is None or not self.joinable(doc):
                    continue
                if may_continue(doc, msg.sender, client):
                    return (str(doc["_id"]), via), None
                refused = refused or doc
        return None, refused

    async def _cited(self, msg: InboundMessage) -> AsyncGenerator[Cited, None]:
        """Tickets the message says it continues, most reliable first; looked up only as far as needed."""
        refs = thread_refs(msg)
        ours = own_ticket(refs, self.domain)
        if ours:  # only a ticket that exists: an id the sender wrote into our format never names a new ticket
            yield "our_message_id", await self.store.ticket(ours)
        if refs:
            yield "references", await self.store.ticket_by_message_ids(refs)
        number = subject_number(msg.subject) if msg.channel.value == "email" or refs else None
        if number is not None:
            yield "subject_tag", await self.store.ticket_by_number(number)
