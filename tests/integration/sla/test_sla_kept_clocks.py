"""A ticket's events on the SLA instance that wrote its clock read neither the clock nor its timers, and write a
timer only when the ticket's next step changes; a kept clock that another writer moved on, a crash between the timer
sync and the clock write, a rebalance and a timer pass all make the next event read again, and the stored clock and
its one pending timer come out exactly as without anything kept (real database; the handler is called directly)."""

from __future__ import annotations

from datetime import timedelta

from sla_desk import HOUR, T0, assigned, desk, once_failing, opened, reads, reply, resolved, timer_writes

from services.sla import domain
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.runtime.timers import Timer, partition_for
from tests.support.testing import db_commands


async def test_a_journey_reads_nothing_and_writes_a_timer_only_when_the_next_step_changes(env: dict[str, str]) -> None:
    async with desk(env) as make:
        d = make()
        start = reads()
        await d.event("T-1", opened(), 0)  # an opening inserts: nothing to read
        await d.event("T-1", t.TicketOffered(agent_ids=["a1"], line="first", group_id="g1"), 1)
        writes = timer_writes()
        await d.event("T-1", assigned(), 2)  # first response still warns first (at 12 min): its timer stays
        await d.event("T-1", t.WorkStarted(agent_id="a1"), 3)
        assert timer_writes() == writes
        await d.event("T-1", reply(), 4)  # the next step is now resolution's warning: one delete, one upsert
        assert timer_writes() == writes + 2
        await d.event("T-1", resolved(), 5)  # every clock stopped: its timer goes
        assert timer_writes() == writes + 3
        await d.event("T-1", t.TicketCompleted(reason="survey"), 6)
        assert timer_writes() == writes + 3
        assert reads() == start
        clock = await d.assert_exact("T-1")
        assert clock.status == "completed" and clock.targets["first_response"].met
        assert d.kept.take("T-1") is not None and clock.version == 7


async def test_a_redelivered_event_writes_nothing_and_keeps_the_view(env: dict[str, str]) -> None:
    async with desk(env) as make:
        d = make()
        await d.event("T-2", opened(), 0)
        env_ = await d.event("T-2", assigned(), 1)
        start, writes = reads(), timer_writes() + db_commands("sla_clocks")
        await d.handler.handle(env_, assigned())
        assert reads() == start and timer_writes() + db_commands("sla_clocks") == writes
        assert "T-2" in d.kept
        assert (await d.assert_exact("T-2")).version == 2


async def test_a_clock_another_instance_moved_on_is_refused_and_read_again(env: dict[str, str]) -> None:
    """Two owners overlapping in a rebalance: ours still keeps the clock as it wrote it."""
    async with desk(env) as make:
        ours, theirs = make(), make()
        await ours.event("T-3", opened(), 0)
        await theirs.event("T-3", assigned(), 1)  # reads (nothing kept there), moves the clock and its timers on
        await theirs.event("T-3", reply(), 2)
        start = reads()
        await ours.event("T-3", t.WorkStarted(agent_id="a1"), 3)  # its kept view is stale: refused, read, applied
        assert reads() > start
        clock = await ours.assert_exact("T-3")
        assert clock.version == 4 and clock.assignee_id == "a1" and clock.targets["take_into_work"].met
        assert clock.targets["first_response"].met  # their reply stood


async def test_a_crash_between_the_timer_sync_and_the_clock_write_reads_again_on_redelivery(
        env: dict[str, str]) -> None:
    async with desk(env) as make:
        d = make()
        await d.event("T-4", opened(), 0)
        save = d.store.save
        crash = once_failing(save)
        d.store.save = crash  # type: ignore[method-assign]
        env_ = envelope_for(reply(), "T-4", occurred_at=T0 + timedelta(minutes=1), actor="test")
        try:
            await d.handler.handle(env_, reply())
        except RuntimeError:
            pass
        else:
            raise AssertionError("the write did not fail")
        assert "T-4" not in d.kept  # whatever was kept no longer counts
        start = reads()
        await d.handler.handle(env_, reply())  # the redelivery reads the clock and its timers again
        assert reads() > start
        clock = await d.assert_exact("T-4")
        assert clock.targets["first_response"].met and clock.version == 2


async def test_a_rebalance_or_a_timer_pass_forgets_the_kept_clocks(env: dict[str, str]) -> None:
    async with desk(env) as make:
        d = make()
        for tid in ("T-5", "T-6"):
            await d.event(tid, opened(), 0)
        await d.kept.partitions_changed(set())
        assert len(d.kept) == 0
        start = reads()
        await d.event("T-5", assigned(), 1)
        assert reads() > start and "T-5" in d.kept
        # a pass over the ticket (here a reminder of a deadline it does not have: it does nothing) drops it
        stray = Timer("stray", "T-5", T0, domain.DEADLINE, {"offset": HOUR, "deadline": T0.isoformat()},
                      partition_for("T-5", d.store.timers.partitions))
        assert await d.handler.fire_many([stray]) == ["stray"]
        assert "T-5" not in d.kept
        await d.event("T-5", t.WorkStarted(agent_id="a1"), 2)
        await d.assert_exact("T-5")


async def test_a_redelivered_opening_of_a_kept_or_moved_clock_leaves_one_timer(env: dict[str, str]) -> None:
    async with desk(env) as make:
        first, second = make(), make()
        env_ = await first.event("T-7", opened(), 0)
        await first.event("T-7", reply(), 1)  # its next step is now resolution's warning
        await second.handler.handle(env_, opened())  # nothing kept there: the insert is refused, then it reads
        clock = await second.assert_exact("T-7")
        assert clock.version == 2 and clock.targets["first_response"].met
