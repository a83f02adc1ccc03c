"""What a batch of one partition's commands does, kept in memory until it is written in one go.

The ledger decides a partition's fetched commands in order against the tickets as the batch left them, then writes
each touched ticket once (its final state, every event and command id of the batch, guarded by the version the batch
read), records the refusals, and only then publishes. A crash after the write redelivers the commands; they are on
their tickets' processed lists by then, so the ordinary handler replays their events instead of deciding again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.contracts.envelope import Envelope
from shared.contracts.ticket import Ticket

Loaded = tuple[Ticket | None, set[str]]


@dataclass
class TicketWrite:
    """One ticket's change over the batch: ``before`` as stored (None: the batch creates it), ``after`` as left."""

    before: Ticket | None
    after: Ticket
    events: list[Envelope] = field(default_factory=list)
    command_ids: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """The batch's view of its tickets, and what it has yet to write and publish."""

    state: dict[str, Loaded]
    writes: dict[str, TicketWrite] = field(default_factory=dict)
    recorded: list[tuple[Envelope, list[Envelope]]] = field(default_factory=list)  # refusals and no-ops
    events: list[Envelope] = field(default_factory=list)
    follow_ups: list[Envelope] = field(default_factory=list)

    async def current(self, ticket_id: str, load: Callable[[str], Awaitable[Loaded]]) -> Loaded:
        if ticket_id not in self.state:
            self.state[ticket_id] = await load(ticket_id)
        return self.state[ticket_id]

    def forget(self, ticket_id: str) -> None:
        """The ticket was handled outside the batch: read it again when it comes up next."""
        self.state.pop(ticket_id, None)

    def save(self, before: Ticket | None, after: Ticket, events: list[Envelope], command_id: str) -> None:
        write = self.writes.get(after.id) or TicketWrite(before, after)
        write.after = after
        write.events += events
        write.command_ids.append(command_id)
        self.writes[after.id] = write
        self.state[after.id] = (after, self.state.get(after.id, (None, set()))[1] | {command_id})
        self.events += events

    def record(self, command: Envelope, events: list[Envelope], ticket: Ticket | None) -> None:
        """A command that changed nothing (refused, or without events): kept for its redelivery, and marked
        processed on its ticket if there is one."""
        self.recorded.append((command, events))
        self.events += events
        if ticket is not None:
            write = self.writes.get(ticket.id) or TicketWrite(ticket, ticket)
            write.command_ids.append(command.id)
            self.writes[ticket.id] = write
            self.state[ticket.id] = (ticket, self.state[ticket.id][1] | {command.id})

    def taken(self) -> tuple[list[TicketWrite], list[tuple[Envelope, list[Envelope]]]]:
        """What to write now; the batch goes on from the written state."""
        writes, recorded = list(self.writes.values()), self.recorded
        self.writes, self.recorded = {}, []
        return writes, recorded

    def to_publish(self) -> tuple[list[Envelope], list[Envelope]]:
        events, follow_ups = self.events, self.follow_ups
        self.events, self.follow_ups = [], []
        return events, follow_ups
