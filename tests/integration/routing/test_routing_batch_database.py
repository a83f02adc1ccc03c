"""Routing's batch of a partition's records on the real broker and database: the decisions of one by one, and one
effect across a crash between the batch's writes and its offset commit (the batch comes again, on a new process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from services.routing.directories import StaffReader
from services.routing.handlers import RoutingHandler
from services.routing.projection import TicketView
from services.routing.settings import RoutingSettings
from services.routing.store import TIMERS, ProjectionStore
from services.routing.view_memory import ViewMemory
from shared.contracts.topics import ROUTING_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.routing import AGENTS, GROUPS, LINES
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus, ensure_topics
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timers import TimerStore
from tests.support.routing_batch import NOW, POLICY, STAFF, STORED, deliveries
from tests.support.testing import Tap, eventually, isolated_env, make_settings


class CrashBeforeViews(ProjectionStore):
    """The process dies after the batch's effects, before its views are written."""

    async def save_many(self, saves: Sequence[tuple[TicketView, int]]) -> None:
        raise RuntimeError("killed")


@asynccontextmanager
async def routing(env: dict[str, str], store: type[ProjectionStore] = ProjectionStore,
                  ) -> AsyncIterator[tuple[RoutingHandler, Any]]:
    """One routing process's handler (its own memory and producer) on ``env``'s broker and database."""
    settings = make_settings(RoutingSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    bus = KafkaBus(settings, "routing")
    await bus.start()
    try:
        timers = TimerStore(db[TIMERS], TICKETS_EVENTS.partitions)
        await timers.ensure_indexes()
        yield RoutingHandler(ViewMemory(store(db)), StaffReader(db, 0), timers, bus, ManualClock(NOW), POLICY,
                             timedelta(seconds=30)), db
    finally:
        await bus.stop()
        await client.close()


@asynccontextmanager
async def desk(env: dict[str, str]) -> AsyncIterator[tuple[Tap, Tap]]:
    """The scenario's directory and stored view in the database; taps on what routing publishes."""
    settings = make_settings(RoutingSettings, env)
    await ensure_topics(settings)
    client = mongo_client(settings)
    db = database(client, settings)
    for name, items in ((AGENTS, STAFF.agents), (LINES, STAFF.lines), (GROUPS, STAFF.groups)):
        for item in items.values():
            await DirectoryStore(db, name).put(item, actor="test", at=NOW)
    await ProjectionStore(db).save(STORED, 0)
    await client.close()
    async with Tap(settings, TICKETS_COMMANDS) as commands, Tap(settings, ROUTING_EVENTS) as events:
        yield commands, events


async def state(db: Any) -> dict[str, Any]:
    views = {d["_id"]: d async for d in db["routing_tickets"].find({}, {"updated_at": 0})}
    timers = {d["_id"]: (d["ticket_id"], d["kind"], d["due_at"]) async for d in db["routing_timers"].find()}
    return {"views": views, "timers": timers}


def published(commands: Tap, events: Tap) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """What each topic got, by id (the tap reads the partitions in no fixed order)."""
    return {tap.spec.name: sorted(((e.id, e.type, e.payload) for e in tap.items), key=lambda r: r[0])
            for tap in (commands, events)}


async def settled(tap: Tap, count: int) -> None:
    await eventually(lambda: len(tap.items) >= count, timeout=30, message=f"{count} records on {tap.spec.name}")


async def test_a_batch_on_the_database_decides_as_one_by_one(env: dict[str, str]) -> None:
    one_env, batch_env = env, {**env, **isolated_env()}  # two desks: their own topics and database
    async with desk(one_env) as (one_commands, one_events), routing(one_env) as (one, one_db):
        for delivery in deliveries():
            await one(delivery)
        async with desk(batch_env) as (commands, events), routing(batch_env) as (batch, db):
            await batch.handle_batch(deliveries())
            # Both desks' taps may still be catching up, the one-by-one desk's too: wait until they agree.
            await eventually(lambda: bool(commands.of("T-2", "AssignTicket")) and published(commands, events)
                             == published(one_commands, one_events), timeout=30, message="the same records")
            assert published(commands, events) == published(one_commands, one_events)
            assert {c.payload["agent_id"] for c in commands.of("T-2", "AssignTicket")} == {"lead-b"}
            got, want = await state(db), await state(one_db)
            for doc in (*got["views"].values(), *want["views"].values()):
                doc.pop("_v")  # a batch writes a view once, one by one once per event
            assert got == want


async def test_a_batch_handled_again_after_a_crash_has_one_effect(env: dict[str, str]) -> None:
    async with desk(env) as (commands, events):
        async with routing(env) as (first, db):
            await first.handle_batch(deliveries())
            await settled(commands, 5)  # T-1, T-2 and T-3 assigned to a lead, T-5 and T-6 offered
            await settled(events, 6)  # nobody available on line first and the leads alerted, for each lead's
            after_first, ids = await state(db), {e.id for e in commands.items + events.items}
        async with routing(env) as (again, db):  # restarted: the same records, no memory of the views
            await again.handle_batch(deliveries())
            assert await state(db) == after_first, "views, versions and timers as the first run left them"
            await settled(commands, 7)  # T-3's assignment and T-5's offer, decided on the saved views, come again
            await settled(events, 8)
            assert {e.id for e in commands.items + events.items} == ids, "nothing but the same ids again"


async def test_a_crash_before_the_views_are_written_redoes_the_same_effects(env: dict[str, str]) -> None:
    clean_env = {**env, **isolated_env()}
    async with desk(clean_env) as (clean_commands, clean_events), routing(clean_env) as (clean, clean_db):
        await clean.handle_batch(deliveries())
        await settled(clean_commands, 5)
        await settled(clean_events, 6)
        async with desk(env) as (commands, events):
            async with routing(env, CrashBeforeViews) as (dying, _):
                with pytest.raises(RuntimeError):
                    await dying.handle_batch(deliveries())
            async with routing(env) as (again, db):
                await again.handle_batch(deliveries())
                assert await state(db) == await state(clean_db), "as if the crash had not been"
            await settled(commands, 10)  # every decision twice (nothing of the batch was in the views)
            await settled(events, 12)
            twice = {name: sorted(items * 2, key=lambda r: r[0])
                     for name, items in published(clean_commands, clean_events).items()}
            assert published(commands, events) == twice
