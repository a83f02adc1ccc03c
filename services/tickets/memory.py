"""The tickets as the ledger last read or wrote them, kept while it holds their partitions.

The ledger is the only writer of ticket state, and a ticket's commands come through one partition: while this
instance holds it, what it last wrote is what is stored, so the next command needs no read. Only written tickets are
kept (a merge reads its target, which may be another instance's); what a read saw is noted only to know the
command ids a ticket had before this instance's first write of it. Every write stays
guarded by the version, so a kept ticket that is stale after all (another instance wrote it during a rebalance) costs a
refused write and a fresh read, never a lost update. Any change of the partitions held forgets everything, a refused
or failed write forgets its tickets, and at most ``size`` tickets are kept, least recently used out.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from shared.contracts.envelope import Envelope
from shared.contracts.ticket import Ticket

from .batch import Loaded, TicketWrite
from .handlers import PROCESSED_KEEP
from .store import LedgerStore

DEFAULT_SIZE = 10_000


class TicketMemory:
    def __init__(self, store: LedgerStore, size: int = DEFAULT_SIZE) -> None:
        self.store, self.size = store, size
        self._kept: OrderedDict[str, tuple[Ticket, list[str]]] = OrderedDict()
        self._read: OrderedDict[str, tuple[int, list[str]]] = OrderedDict()  # version and command ids as read

    async def load(self, ticket_id: str) -> Loaded:
        if (kept := self._get(ticket_id)) is not None:
            return kept
        ticket, processed = await self.store.load(ticket_id)
        self._saw(ticket, processed)
        return ticket, processed

    def kept(self, ticket_id: str) -> Loaded | None:
        return self._get(ticket_id)

    async def load_many(self, ticket_ids: set[str]) -> dict[str, Loaded]:
        found: dict[str, Loaded] = {}
        for tid in ticket_ids:
            if (kept := self._get(tid)) is not None:
                found[tid] = kept
        if missing := ticket_ids - found.keys():
            read = await self.store.load_many(missing)
            for ticket, processed in read.values():
                self._saw(ticket, processed)
            found |= read
        return found

    async def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None:
        await self._writing([after.id], self.store.save(before, after, events, command_id))
        self._wrote(TicketWrite(before, after, events, [command_id]))

    async def mark_processed(self, ticket_id: str, command_id: str) -> None:
        await self._writing([ticket_id], self.store.mark_processed(ticket_id, command_id))
        if (kept := self._kept.get(ticket_id)) is not None:
            self._keep(kept[0], [*kept[1], command_id])

    async def save_batch(self, writes: list[TicketWrite], recorded: list[tuple[Envelope, list[Envelope]]]) -> None:
        await self._writing([w.after.id for w in writes], self.store.save_batch(writes, recorded))
        for write in writes:
            self._wrote(write)

    async def events_caused_by(self, ticket_id: str, command_id: str) -> list[dict[str, Any]] | None:
        return await self.store.events_caused_by(ticket_id, command_id)

    async def next_number(self) -> int:
        return await self.store.next_number()

    async def record_command(self, command: Envelope, events: list[Envelope]) -> None:
        await self.store.record_command(command, events)

    def forget(self) -> None:
        self._kept.clear()
        self._read.clear()

    async def partitions_changed(self, _partitions: set[Any]) -> None:
        """A rebalance hook (assigned or revoked): another instance may have written meanwhile."""
        self.forget()

    def __len__(self) -> int:
        return len(self._kept)

    async def _writing(self, ticket_ids: list[str], write: Any) -> None:
        try:
            await write
        except BaseException:  # refused, or unknown whether it landed: read these again next time
            for tid in ticket_ids:
                self._kept.pop(tid, None)
            raise

    def _saw(self, ticket: Ticket | None, processed: set[str]) -> None:
        if ticket is not None:
            self._read[ticket.id] = (ticket.version, list(processed))
            while len(self._read) > self.size:
                self._read.popitem(last=False)

    def _wrote(self, write: TicketWrite) -> None:
        """Keep what is stored now: the ticket as written, its command ids after those it had (if known)."""
        tid = write.after.id
        kept, read = self._kept.get(tid), self._read.pop(tid, None)
        before: list[str] | None = [] if write.before is None else None
        if write.before is not None and kept is not None and kept[0].version == write.before.version:
            before = kept[1]
        elif write.before is not None and read is not None and read[0] == write.before.version:
            before = read[1]
        if before is None:
            self._kept.pop(tid, None)
        else:
            self._keep(write.after, [*before, *write.command_ids])

    def _get(self, ticket_id: str) -> Loaded | None:
        kept = self._kept.get(ticket_id)
        if kept is None:
            return None
        self._kept.move_to_end(ticket_id)
        return kept[0], set(kept[1])

    def _keep(self, ticket: Ticket, processed: list[str]) -> None:
        ticket.model_fields_set.update(Ticket.model_fields)  # stored whole now: a later write sets changes only
        self._kept[ticket.id] = (ticket, processed[-PROCESSED_KEEP:])
        self._kept.move_to_end(ticket.id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
