"""What a new owner of a ticket's partition must get right, each case forced on the real broker and database.

The two-worker run (test_sla_rebalance.py) meets these cases when timing allows; here each is made to
happen: a replayed event that overtakes overdue timers, a timer whose event comes back later than
Patience waits, and a graceful stop in the middle of a firing batch.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from sla_support import seed_people, seed_sla

from services.sla import domain
from services.sla.app import SlaService
from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import SLA_EVENTS, TICKETS_EVENTS
from shared.directory.sla import EscalationLadder, LadderStep, SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timers import Patience
from tests.support.testing import Tap, eventually, make_settings, running

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = 60.0
LADDER = EscalationLadder(id="default", steps=[
    LadderStep(step=1, start="assigned", after_seconds=15 * MIN, condition="not_in_progress", roles=["group_lead"]),
    LadderStep(step=2, start="breached", after_seconds=0, condition="unresolved", roles=["group_lead"]),
])


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def event(bus: KafkaBus, ticket_id: str, msg: Any, at: datetime) -> Envelope:
    """A ledger event, published as the ledger would (the SLA only reads tickets.events)."""
    env = envelope_for(msg, ticket_id, occurred_at=at, actor="tickets")
    await bus.publish(TICKETS_EVENTS, env)
    return env


async def opened_and_assigned(bus: KafkaBus, ticket_id: str, at: datetime) -> None:
    await event(bus, ticket_id, t.TicketOpened(channel=Channel.email, number=1, group_id="g1"), at)
    await event(bus, ticket_id, t.TicketAssigned(agent_id="a1", mode="auto"), at)


# targets hours away: only the ladder's first step (15 minutes after assignment) falls due in a 16-minute jump
LONG_TARGETS = SlaPolicy(id="default", targets=Targets(first_response_seconds=10 * 3600.0,
                                                       resolution_seconds=20 * 3600.0))


async def sla_desk(env: dict[str, str], policy: SlaPolicy) -> tuple[SlaSettings, Any, Any, KafkaBus]:
    """Settings, the database seeded with people, ``policy`` and the ladder, and a bus for one test's workers."""
    settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_people(db)
    await seed_sla(db, policy, ladder=LADDER)
    return settings, client, db, KafkaBus(settings, "test")


def hold_marking(worker: SlaService) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold ``worker``'s batches between publishing and marking their timers fired (which is what makes a timer
    pass's outbox count as published): ``held`` is set when one gets there, and it goes on once the test sets
    ``gate``."""
    held, gate = asyncio.Event(), asyncio.Event()
    timers = worker.store.timers
    mark = timers.mark_fired_many

    async def slow_mark(timer_ids: Any, at: Any) -> None:
        if timer_ids:
            held.set()
            await gate.wait()
        await mark(timer_ids, at)

    timers.mark_fired_many = slow_mark  # type: ignore[method-assign]
    return held, gate


async def assigned_clocks(db: Any, ids: list[str]) -> None:
    for tid in ids:
        await eventually(lambda tid=tid: db.sla_clocks.find_one({"_id": tid, "status": "assigned"}),
                         message=f"{tid} assigned")


async def step_one_held_before_marking(bus: KafkaBus, db: Any, sla_tap: Tap, clock: ManualClock, ids: list[str],
                                       held: asyncio.Event) -> None:
    """Open and assign ``ids``, jump to step 1's due time, and return once a batch published every ticket's
    step 1 and is held (``hold_marking``) between publishing and marking its timers fired."""
    for tid in ids:
        await opened_and_assigned(bus, tid, T0)
    await assigned_clocks(db, ids)
    clock.set(minutes(16))
    await asyncio.wait_for(held.wait(), 10)
    await sla_tap.wait(type="EscalationStepFired", count=len(ids))


def steps(envs: list[Envelope]) -> list[tuple[str, Any]]:
    return [(e.type, e.payload.get("target") or e.payload.get("step")) for e in envs]


async def test_an_event_replayed_before_its_overdue_timers_fire_lets_them_fire_first(env: dict[str, str]) -> None:
    """A new owner may replay a resolve from its backlog before its timer loop got to the warning that fell
    due before the resolve: what was due before the event still fires, once, in due order, at its due time."""
    clock = ManualClock(T0)
    settings, client, db, bus = await sla_desk(env, SlaPolicy(id="default", warning_share=0.5, targets=Targets(
        first_response_seconds=60 * MIN, resolution_seconds=180 * MIN)))
    app = sla_app(settings, clock)
    worker: SlaService = app.state.service
    async with running(app), Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        await opened_and_assigned(bus, "T-e", T0)
        await eventually(lambda: db.sla_clocks.find_one({"_id": "T-e", "status": "assigned"}), message="assigned")
        await worker.timers.stop()  # the loop has not got to this ticket's timers yet
        clock.set(minutes(100))
        await event(bus, "T-e", t.TicketResolved(agent_id="a1", problem="p", solution="s", channel=Channel.email,
                                                 sender=Sender()), minutes(100))
        await eventually(lambda: db.sla_clocks.find_one({"_id": "T-e", "status": "resolved"}), message="resolved")
        await asyncio.sleep(0.5)  # anything published late would show up now
        fired = sla_tap.of("T-e")
        assert steps(fired) == [("EscalationStepFired", 1), ("SlaWarning", "first_response"),
                                ("SlaBreached", "first_response"), ("EscalationStepFired", 2),
                                ("SlaWarning", "resolution")]
        assert [e.occurred_at for e in fired] == [minutes(15), minutes(30), minutes(60), minutes(60), minutes(90)]
        assert len({e.id for e in fired}) == len(fired)
        record = await db.sla_clocks.find_one({"_id": "T-e"})
        assert record["targets"]["resolution"]["met"] is True and record["outbox"] == []
        assert await db.sla_timers.count_documents({"ticket_id": "T-e", "fired": False}) == 0
        await bus.stop()
    await client.close()


async def test_a_timer_whose_event_is_replayed_after_patience_ran_out_still_fires(env: dict[str, str]) -> None:
    """A worker dies between writing an event's timers and saving the clock; the event comes back (from the
    new owner's backlog) only after Patience gave up on the timer: the timer must fire then, not be lost."""
    clock = ManualClock(T0)
    settings, client, db, bus = await sla_desk(env, LONG_TARGETS)
    app = sla_app(settings, clock)
    worker: SlaService = app.state.service
    worker.handler.patience = Patience(tries=2, seconds=0.2)
    async with running(app), Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        await opened_and_assigned(bus, "T-p", T0)
        await eventually(lambda: db.sla_clocks.find_one({"_id": "T-p", "assign_epoch": 1}), message="assigned")
        clock.set(minutes(16))
        await sla_tap.wait("T-p", "EscalationStepFired")
        # The crash: a reassignment at minute 20 got as far as its timers (written before the clock is saved).
        reassigned = envelope_for(t.TicketAssigned(agent_id="a2", mode="reassign", previous_agent_id="a1"), "T-p",
                                  occurred_at=minutes(20), actor="tickets")
        catalog = await worker.directory.catalog()
        before = await worker.store.load("T-p")
        after = domain.apply(before, "T-p", reassigned.id, reassigned.message(), reassigned.occurred_at, catalog)
        assert after is not None and after.assign_epoch == 2
        await worker.store.sync_timers("T-p", domain.desired_timers(after, catalog))
        step1 = domain.timer_id("T-p", domain.LADDER, "default", 1, "assigned", 2)
        clock.set(minutes(36))  # that step is due; its clock still says epoch 1: Patience waits, then gives up

        async def given_up() -> bool:
            return await db.sla_timers.find_one({"_id": step1, "fired": False}) is None

        await eventually(given_up, timeout=10, message="patience spent")
        await asyncio.sleep(0.3)
        assert len(sla_tap.of("T-p", "EscalationStepFired")) == 1  # nothing fired without its state
        await bus.publish(TICKETS_EVENTS, reassigned)  # the replay, later than Patience waited
        fired = await sla_tap.wait("T-p", "EscalationStepFired", count=2)
        assert fired[1].correlation_id == step1 and fired[1].occurred_at == minutes(35)
        await asyncio.sleep(0.5)
        assert len(sla_tap.of("T-p", "EscalationStepFired")) == 2
        await bus.stop()
    await client.close()


async def test_a_graceful_stop_mid_batch_finishes_it_so_the_next_owner_publishes_nothing_again(
        env: dict[str, str]) -> None:
    """SIGTERM (a rolling deploy, a scale-down) while a batch is between publishing and marking its timers fired:
    the stop waits for the batch, so the next owner has nothing left to publish a second time."""
    clock = ManualClock(T0)
    settings, client, db, bus = await sla_desk(env, LONG_TARGETS)
    ids = [f"T-s{i}" for i in range(6)]
    first = sla_app(settings, clock)
    held, gate = hold_marking(first.state.service)
    async with Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(running(first))
            await step_one_held_before_marking(bus, db, sla_tap, clock, ids, held)
            stopping = asyncio.ensure_future(stack.aclose())
            await asyncio.sleep(0.5)
            assert not stopping.done()  # the stop waits for the batch
            gate.set()
            await stopping
        second = sla_app(settings, clock)
        async with running(second):
            await eventually(lambda: second.state.service.stream.owned_partitions(), timeout=15, message="assigned")
            await asyncio.sleep(2.0)  # a sweep and some ticks of the next owner
            published = Counter(e.id for e in sla_tap.of(type="EscalationStepFired"))
            assert len(published) == len(ids) and set(published.values()) == {1}, published
            assert await db.sla_timers.count_documents({"fired": False, "kind": domain.LADDER,
                                                        "data.step": 1}) == 0
            assert await db.sla_clocks.count_documents({"outbox_pending": True}) == 0
        await bus.stop()
    await client.close()


async def test_a_rebalance_waits_for_the_batch_in_flight_so_the_partitions_never_have_two_owners(
        env: dict[str, str]) -> None:
    """A second worker joins while the first is between publishing a batch and marking its timers fired: the first
    hands no partition over before that batch is done, so nobody publishes the batch a second time."""
    clock = ManualClock(T0)
    settings, client, db, bus = await sla_desk(env, LONG_TARGETS)
    ids = [f"T-b{i}" for i in range(12)]
    first, second = sla_app(settings, clock), sla_app(settings, clock)
    one: SlaService = first.state.service
    two: SlaService = second.state.service
    held, gate = hold_marking(one)
    async with running(first), Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        await eventually(lambda: len(one.stream.owned_partitions()) == TICKETS_EVENTS.partitions, timeout=15,
                         message="the first worker owns everything")
        await step_one_held_before_marking(bus, db, sla_tap, clock, ids, held)
        async with AsyncExitStack() as stack:
            joining = asyncio.ensure_future(stack.enter_async_context(running(second)))  # returns once assigned
            await eventually(lambda: one.stream.owned_partitions() == set(), timeout=15, message="revocation")
            for _ in range(30):  # 3 s with the batch held: the group must not hand anything to the second worker
                assert not two.stream.owned_partitions() and not joining.done()
                await asyncio.sleep(0.1)
            gate.set()
            await joining
            await eventually(lambda: one.stream.owned_partitions() and two.stream.owned_partitions(), timeout=15,
                             message="partitions shared")
            await asyncio.sleep(2.0)  # sweeps and ticks of both owners
            published = Counter(e.id for e in sla_tap.of(type="EscalationStepFired"))
            assert len(published) == len(ids) and set(published.values()) == {1}, published
            assert await db.sla_clocks.count_documents({"outbox_pending": True}) == 0
        await bus.stop()
    await client.close()


async def test_an_event_handled_between_a_pass_and_its_marking_sends_nothing_again(env: dict[str, str]) -> None:
    """The loop marks a pass's timers fired after the pass has let go of its tickets. An event of such a ticket
    handled in between finds the pass's outbox on the clock with its timers not marked yet: it must not take it
    for one a crash left unpublished and send it again."""
    clock = ManualClock(T0)
    settings, client, db, bus = await sla_desk(env, LONG_TARGETS)
    app = sla_app(settings, clock)
    held, gate = hold_marking(app.state.service)
    async with running(app), Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        await step_one_held_before_marking(bus, db, sla_tap, clock, ["T-m"], held)
        await event(bus, "T-m", t.TicketAssigned(agent_id="a2", mode="reassign", previous_agent_id="a1"), minutes(16))
        await eventually(lambda: db.sla_clocks.find_one({"_id": "T-m", "assign_epoch": 2}), message="reassigned")
        gate.set()
        step1 = domain.timer_id("T-m", domain.LADDER, "default", 1, "assigned", 1)

        async def settled() -> bool:  # marked, or dropped by the event's sync (a step of the old assignment)
            return await db.sla_timers.find_one({"_id": step1, "fired": False}) is None

        await eventually(settled, timeout=10, message="step 1 no longer pending")
        await asyncio.sleep(0.5)  # anything sent again would show up now
        assert len(sla_tap.of("T-m", "EscalationStepFired")) == 1
        await bus.stop()
    await client.close()
