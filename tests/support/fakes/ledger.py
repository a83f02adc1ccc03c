"""The ledger's store (``services.tickets.handlers.LedgerStorage``) over dicts, with the same rules as MongoDB's:
numbers in order, a write on a stale version refused, a command's events kept for its redelivery."""

from __future__ import annotations

from typing import Any

from services.tickets.batch import Loaded, TicketWrite
from services.tickets.handlers import PROCESSED_KEEP, ConcurrentWrite
from shared.contracts.envelope import Envelope
from shared.contracts.ticket import Ticket


class FakeLedgerStore:
    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.processed: dict[str, list[str]] = {}
        self.rejections: dict[str, list[dict[str, Any]]] = {}  # command id → its events, as ledger_commands
        self.last_number = 0
        self.batch_reads = self.batch_writes = 0

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return None, set()
        return ticket.model_copy(deep=True), set(self.processed[ticket_id])

    def kept(self, ticket_id: str) -> Loaded | None:
        return None  # nothing known without a read: a new-ticket hint is tried with an insert

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None:
        if command_id in self.rejections:
            return list(self.rejections[command_id])
        caused = [e for e in self.history.get(ticket_id, []) if e["causation_id"] == command_id]
        return caused or None

    async def next_number(self) -> int:
        self.last_number += 1
        return self.last_number

    async def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None:
        current = self.tickets.get(after.id)
        if (before is None) != (current is None) or (before and current and before.version != current.version):
            raise ConcurrentWrite(f"ticket {after.id} moved on")
        self.tickets[after.id] = after.model_copy(deep=True)
        self.history.setdefault(after.id, []).extend(e.model_dump(mode="json") for e in events)
        await self.mark_processed(after.id, command_id)

    async def mark_processed(self, ticket_id: str, command_id: str) -> None:
        self.processed[ticket_id] = [*self.processed.get(ticket_id, []), command_id][-PROCESSED_KEEP:]

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None:
        self.rejections.setdefault(command.id, [e.model_dump(mode="json") for e in events])

    async def load_many(self, ticket_ids: set[str]) -> dict[str, Loaded]:
        self.batch_reads += 1
        return {tid: await self.load(tid) for tid in ticket_ids}

    async def save_batch(self, writes: list[TicketWrite], recorded: list[tuple[Envelope, list[Envelope]]]) -> None:
        self.batch_writes += 1
        for command, events in recorded:
            await self.record_command(command, events)
        stale = [w for w in writes if (w.before is None) != (w.after.id not in self.tickets)
                 or (w.before is not None and self.tickets[w.after.id].version != w.before.version)]
        for w in writes:
            if w in stale:
                continue
            self.tickets[w.after.id] = w.after.model_copy(deep=True)
            self.history.setdefault(w.after.id, []).extend(e.model_dump(mode="json") for e in w.events)
            self.processed[w.after.id] = [*self.processed.get(w.after.id, []), *w.command_ids][-PROCESSED_KEEP:]
        if stale:  # like an unordered bulk write: the others took effect
            raise ConcurrentWrite(f"{len(stale)} tickets moved on")
