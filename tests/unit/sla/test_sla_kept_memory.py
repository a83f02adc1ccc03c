"""What the SLA keeps of the clocks it wrote: bounded, least recently used out, never a clock with an outbox, and
taken out while a write of it is under way (a write that fails leaves nothing kept)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.sla.memory import KeptClocks
from services.sla.model import SlaClock, TimerPlan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def clock(tid: str, **fields: object) -> SlaClock:
    return SlaClock.model_validate({"id": tid, "policy_id": "p", "calendar_id": "24x7", "opened_at": T0, **fields})


PLANS = [TimerPlan("x", T0, "sla.warn", {"target": "first_response", "epoch": 0})]


def test_kept_clocks_are_taken_once_and_bounded() -> None:
    kept = KeptClocks(2)
    for tid in ("T-1", "T-2", "T-3"):
        kept.keep(clock(tid, version=1), PLANS)
    assert len(kept) == 2 and "T-1" not in kept  # least recently used out
    taken = kept.take("T-2")
    assert taken is not None and taken[0].id == "T-2" and taken[1] == PLANS
    assert kept.take("T-2") is None  # taken out: kept again only by the write that follows


def test_a_clock_with_an_outbox_is_not_kept_and_replaces_what_was() -> None:
    kept = KeptClocks(10)
    kept.keep(clock("T-1", version=1), PLANS)
    kept.keep(clock("T-1", version=2, outbox=[{"topic": "sla.events", "envelope": {}}]), PLANS)
    assert "T-1" not in kept
    kept.keep(clock("T-1", version=3, outbox_timers=["x"]), [])
    assert "T-1" not in kept


async def test_a_rebalance_forgets_everything_and_size_zero_keeps_nothing() -> None:
    kept = KeptClocks(10)
    kept.keep(clock("T-1"), PLANS)
    kept.keep(clock("T-2"), PLANS)
    kept.drop(["T-1"])
    assert "T-1" not in kept and "T-2" in kept
    await kept.partitions_changed(set())
    assert len(kept) == 0
    off = KeptClocks(0)
    off.keep(clock("T-1"), PLANS)
    assert len(off) == 0
