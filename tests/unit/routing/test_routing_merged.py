"""Routing sees a ticket closed as merged (issue 22) as closed: its view leaves the queues and its timers go."""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.projection import TRACKED, apply
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import FINISHED_STATUSES, Channel

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_merged_ticket_is_closed_in_routings_view() -> None:
    opened = t.TicketOpened(channel=Channel.phone, number=1, line="first")
    view = apply(None, envelope_for(opened, "S", occurred_at=NOW, id="e1"), opened)
    merged = t.TicketMerged(target_id="T", target_number=2, merged_by="lea")
    assert isinstance(merged, TRACKED)
    after = apply(view, envelope_for(merged, "S", occurred_at=NOW, id="e2"), merged)
    assert after is not None and after.status in FINISHED_STATUSES and after.status == "closed"
