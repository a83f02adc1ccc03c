"""The ledger keeps the tickets it wrote while it holds their partitions: no read before the next command, the same
decisions and dedupe as reading each time, and a forgotten ticket after a refused write or a rebalance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.tickets.domain import LedgerRules
from services.tickets.handlers import ConcurrentWrite, LedgerHandler
from services.tickets.memory import TicketMemory
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.contracts.ticket import Ticket
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.clock import ManualClock
from tests.support.fakes import FakeBus
from tests.support.fakes.ledger import FakeLedgerStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class CountingStore(FakeLedgerStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, ticket_id: str) -> tuple[Ticket | None, set[str]]:
        self.loads += 1
        return await super().load(ticket_id)


def cmd(msg: Message, id: str, ticket_id: str = "T-1") -> tuple[Envelope, Message]:
    return envelope_for(msg, ticket_id, occurred_at=NOW, actor="test", id=id), msg


OPEN = cmd(t.OpenTicket(channel=Channel.web, subject="s", text="down"), "open")
OFFER = cmd(t.OfferTicket(agent_ids=["ann"], line="first"), "offer")


Ledger = tuple[LedgerHandler, TicketMemory, CountingStore, FakeBus]


@pytest.fixture
def ledger() -> Ledger:
    store, bus = CountingStore(), FakeBus()
    memory = TicketMemory(store)  # type: ignore[arg-type]
    return LedgerHandler(memory, bus, ManualClock(NOW), LedgerRules()), memory, store, bus


async def test_a_written_ticket_is_decided_on_again_without_a_read(ledger: Ledger) -> None:
    handler, memory, store, bus = ledger
    await handler(OPEN)
    reads = store.loads
    await handler(OFFER)
    await handler(cmd(t.ClaimTicket(agent_id="ann"), "claim"))
    assert store.loads == reads and len(memory) == 1
    assert store.tickets["T-1"].assignee_id == "ann" and store.processed["T-1"] == ["open", "offer", "claim"]


async def test_a_redelivery_is_still_recognised_from_memory(ledger: Ledger) -> None:
    handler, _, store, bus = ledger
    await handler(OPEN)
    await handler(OFFER)
    first = [e.id for e in bus.on(TICKETS_EVENTS)]
    await handler(OFFER)
    assert [e.id for e in bus.on(TICKETS_EVENTS)][len(first):] == first[-1:]  # the same offer again, not decided
    assert store.tickets["T-1"].version == 2


async def test_a_refused_write_and_a_rebalance_forget_what_was_kept(ledger: Ledger) -> None:
    handler, memory, store, _ = ledger
    await handler(OPEN)
    ticket, _ = await memory.load("T-1")
    assert ticket is not None
    store.tickets["T-1"] = ticket.model_copy(update={"version": 5})  # another instance wrote meanwhile
    with pytest.raises(ConcurrentWrite):
        await handler(OFFER)
    reads = store.loads
    await handler(OFFER)  # the retry reads the stored ticket
    assert store.loads == reads + 1 and store.tickets["T-1"].version == 6
    await memory.partitions_changed(set())
    assert len(memory) == 0


async def test_a_ticket_only_read_is_not_kept(ledger: Ledger) -> None:
    handler, memory, store, _ = ledger
    await handler(OPEN)
    await memory.partitions_changed(set())
    await memory.load("T-1")  # e.g. a merge target, perhaps another instance's
    assert len(memory) == 0
