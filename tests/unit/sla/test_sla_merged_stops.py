"""A ticket closed as merged into another stops its SLA clocks as a closed one does (issue 22, merge)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla import domain
from services.sla.model import Catalog
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_merged_ticket_stops_every_clock_and_wants_no_timer() -> None:
    cat = Catalog()
    clock = domain.apply(None, "S", "e1", t.TicketOpened(channel=Channel.phone, number=1,
                                                         client=ClientRef(client_id="c")), T0, cat)
    clock = domain.apply(clock, "S", "e2", t.TicketAssigned(agent_id="a", mode="auto"), T0, cat)
    assert clock is not None and domain.desired_timers(clock, cat)
    merged = t.TicketMerged(target_id="T", target_number=2, merged_by="lead")
    assert domain.moves_clock(merged)
    done = domain.apply(clock, "S", "e3", merged, T0 + timedelta(minutes=5), cat)
    assert done is not None and done.status == "closed"
    assert domain.desired_timers(done, cat) == []
    assert all(not tc.running for tc in done.targets.values())
