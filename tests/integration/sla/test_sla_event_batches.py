"""A consumed batch of events (services/sla/batch.py) on the real broker and database: its tickets' clocks go to the
database in one insert and one update command (timers likewise), ending exactly as event by event; a crash after the
write and before the commit redelivers the batch, which writes nothing again and publishes what it owed once; a lost
compare-and-set or a redelivered opening falls back to the one-event path and still ends exact."""

from __future__ import annotations

from typing import Any

import pytest
from sla_desk import T0, assigned, desk, opened, reads, reply, resolved

from services.sla.batch import handle_many
from services.sla.model import SlaClock
from services.sla.settings import SlaSettings
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import SLA_EVENTS
from tests.support.testing import Tap, db_commands, make_settings

WRITES = (("sla_clocks", "insert"), ("sla_clocks", "update"), ("sla_timers", "update"), ("sla_timers", "delete"))


def journey() -> list[tuple[Message, float]]:
    return [(opened(), 0), (t.TicketOffered(agent_ids=["a1"], line="first", group_id="g1"), 1), (assigned(), 2),
            (t.WorkStarted(agent_id="a1"), 3), (reply(), 4), (resolved(), 5), (t.TicketCompleted(reason="survey"), 6)]


def shape(clock: SlaClock) -> dict[str, Any]:
    """What the events decided (not the ticket id, the event ids, nor how many writes it took)."""
    return clock.model_dump(exclude={"id", "applied", "version", "partition"})


async def test_a_batch_writes_each_kind_once_for_all_its_tickets_and_ends_as_event_by_event(
        env: dict[str, str]) -> None:
    async with desk(env) as make:
        batched, single = make(), make()
        steps, start = journey(), reads()
        for lo in range(0, len(steps), 2):  # two steps of each of four tickets in a batch
            before = [db_commands(*w) for w in WRITES]
            await batched.batch([(f"T-b{i}", msg, m) for msg, m in steps[lo:lo + 2] for i in range(4)])
            assert all(db_commands(*w) - b <= 1 for w, b in zip(WRITES, before, strict=True)), \
                [db_commands(*w) - b for w, b in zip(WRITES, before, strict=True)]
        for i in range(4):
            for msg, m in steps:
                await single.event(f"T-s{i}", msg, m)
        assert reads() == start  # both kept their clocks: nothing read
        for i in range(4):
            b, s = await batched.assert_exact(f"T-b{i}"), await single.assert_exact(f"T-s{i}")
            assert shape(b) == shape(s) and b.status == "completed"
            assert (b.version, s.version) == (4, 7)  # one write per batch, one per event


async def test_a_crash_after_the_write_before_the_commit_redelivers_the_batch_which_publishes_once(
        env: dict[str, str]) -> None:
    settings = make_settings(SlaSettings, env)
    async with desk(env, publish=True) as make, Tap(settings, SLA_EVENTS) as tap:
        at = T0.replace(minute=14)  # first response warns at 12 minutes, breaches at 15: an event at 13 finds one due
        first = make(now=at)
        await first.batch([("T-c1", opened(), 0), ("T-c2", opened(), 0)])

        async def crash(*_: Any) -> None:
            raise RuntimeError("process died after the clock write, before the publish")
        first.handler._publish = crash  # type: ignore[method-assign]
        late = [("T-c1", reply(), 13.0), ("T-c2", assigned(), 13.0)]
        try:
            deliveries = [(envelope_for(msg, tid, occurred_at=T0.replace(minute=13), actor="test"), msg)
                          for tid, msg, _ in late]
            await handle_many(first.handler, deliveries)
        except RuntimeError:
            pass
        else:
            raise AssertionError("the publish did not fail")
        stored = {tid: await first.store.load(tid) for tid in ("T-c1", "T-c2")}
        assert all(c is not None and c.outbox and c.version == 2 for c in stored.values())  # written, unpublished

        restarted = make(now=at)  # the offsets were not committed: the same batch comes again
        await handle_many(restarted.handler, deliveries)
        # the overdue warnings' timers were to be marked fired after the publish: the next pass uses them up (its
        # firing finds them done and sends nothing)
        due = await restarted.store.timers.due(at, None)
        assert {tm.ticket_id for tm in due} == {"T-c1", "T-c2"}
        await restarted.store.mark_fired_many(await restarted.handler.fire_many(due), at)
        versions = {tid: (await restarted.assert_exact(tid)).version for tid in ("T-c1", "T-c2")}
        before = [db_commands(*w) for w in WRITES]
        await handle_many(restarted.handler, deliveries)  # and again (a second crash before the commit)
        assert [db_commands(*w) for w in WRITES] == before
        for tid in ("T-c1", "T-c2"):
            clock = await restarted.assert_exact(tid)
            assert clock.version == versions[tid] and not clock.outbox and clock.targets["first_response"].warned
            marker = envelope_for(sla.SlaWarning(target="resolution", due_at=at, policy_id="marker", share=0.0), tid,
                                  occurred_at=at, actor="test")
            await restarted.handler.bus.publish(SLA_EVENTS, marker)  # same key, same partition: read after theirs
            await tap.wait(tid, "SlaWarning", count=2)
            warnings = [e for e in tap.of(tid, "SlaWarning") if e.id != marker.id]
            assert len(warnings) == 1 and warnings[0].payload["target"] == "first_response"
        assert (await restarted.store.load("T-c1")).targets["first_response"].met  # type: ignore[union-attr]


def fell_back(caplog: pytest.LogCaptureFixture) -> bool:
    return any("batch lost a write" in r.getMessage() for r in caplog.records)


async def test_a_lost_compare_and_set_in_a_batch_goes_event_by_event_and_ends_exact(
        env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    async with desk(env) as make:
        ours, theirs = make(), make()
        await ours.batch([("T-x", opened(), 0), ("T-y", opened(), 0)])
        await theirs.event("T-x", assigned(), 1)  # another owner moves T-x on: ours still keeps it at version 1
        await ours.batch([("T-x", reply(), 2), ("T-y", assigned(), 2)])
        assert fell_back(caplog)
        x, y = await ours.assert_exact("T-x"), await ours.assert_exact("T-y")
        assert x.assignee_id == "a1" and x.targets["first_response"].met and x.version == 3
        assert y.assignee_id == "a1" and y.version == 2


async def test_a_redelivered_opening_in_a_batch_after_a_restart_leaves_the_clock_and_one_timer(
        env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    async with desk(env) as make:
        first = make()
        opening = await first.batch([("T-o1", opened(), 0), ("T-o0", opened(), 0)])
        await first.batch([("T-o1", reply(), 1), ("T-o0", assigned(), 1)])
        restarted = make()
        await handle_many(restarted.handler, [opening[0], (envelope_for(opened(), "T-o2", occurred_at=T0,
                                                                        actor="test"), opened())])
        assert fell_back(caplog)  # the opening's insert was refused
        o1 = await restarted.assert_exact("T-o1")
        assert o1.version == 2 and o1.targets["first_response"].met
        assert (await restarted.assert_exact("T-o2")).version == 1
