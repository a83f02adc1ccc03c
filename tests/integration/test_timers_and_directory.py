from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from shared.directory import Directory, DirectoryStore, VersionConflict
from shared.runtime.clock import ManualClock
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from shared.runtime.timer_loop import TimerLoop
from shared.runtime.timers import Timer, TimerStore, partition_for
from tests.support.testing import db_commands, make_settings

T0 = datetime(2026, 3, 6, 17, 55, tzinfo=UTC)


async def test_timers_fire_once_in_due_order_and_only_for_owned_partitions(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = TimerStore(database(client, settings)["timers"], partitions=12)
    await store.ensure_indexes()
    clock = ManualClock(T0)
    fired: list[str] = []

    async def fire(timer: Timer) -> None:
        fired.append(timer.id)

    await store.schedule("late", "T-a", T0 + timedelta(minutes=2), "breach")
    await store.schedule("early", "T-a", T0 + timedelta(minutes=1), "warning")
    await store.schedule("early", "T-a", T0 + timedelta(minutes=1), "warning")  # idempotent
    other = next(f"T-{i}" for i in range(100) if partition_for(f"T-{i}", 12) != partition_for("T-a", 12))
    await store.schedule("foreign", other, T0, "breach")
    loop = TimerLoop(store, clock, fire, owned=lambda: {partition_for("T-a", 12)})
    assert await loop.tick() == 0
    clock.advance(timedelta(minutes=3))
    assert await loop.tick() == 2 and fired == ["early", "late"]
    assert await loop.tick() == 0
    await store.schedule("early", "T-a", T0 + timedelta(hours=1), "warning")  # never revives a fired timer
    clock.advance(timedelta(hours=2))
    assert await loop.tick() == 0 and fired == ["early", "late"]
    assert await store.pending() == 1  # the foreign partition's timer waits for its owner
    await client.close()


def timer_finds() -> float:
    return db_commands("timers", "find")


async def test_a_full_page_of_due_timers_is_asked_once_when_every_partition_is_owned(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = TimerStore(database(client, settings)["timers"], partitions=12)
    await store.ensure_indexes()
    tickets = [f"T-{i}" for i in range(8)]
    for i, tid in enumerate(tickets):
        await store.schedule(f"t{i}", tid, T0 + timedelta(seconds=i), "breach")
    now = T0 + timedelta(minutes=1)
    for owned in (None, set(range(12))):
        before = timer_finds()
        assert [tm.id for tm in await store.due(now, owned, limit=5)] == ["t0", "t1", "t2", "t3", "t4"]
        assert timer_finds() - before == 1, owned  # not once more per partition
    some = {partition_for(tid, 12) for tid in tickets[5:]}
    before = timer_finds()
    assert [tm.id for tm in await store.due(now, some, limit=5)] == [f"t{i}" for i in range(8)
                                                                      if partition_for(tickets[i], 12) in some][:5]
    assert timer_finds() - before == 1 + len(some)  # a full page that may hold others' timers: by partition
    await client.close()


async def test_one_query_gives_the_due_timers_of_owned_partitions_and_the_next_pending_one(
        env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = TimerStore(database(client, settings)["timers_next"], partitions=12)
    await store.ensure_indexes()
    mine = "T-a"
    other = next(f"T-{i}" for i in range(100) if partition_for(f"T-{i}", 12) != partition_for(mine, 12))
    await store.schedule("due-mine", mine, T0, "breach")
    await store.schedule("due-other", other, T0 + timedelta(seconds=1), "breach")
    await store.schedule("soon", other, T0 + timedelta(seconds=40), "breach")
    await store.schedule("later", mine, T0 + timedelta(seconds=50), "breach")
    await store.schedule("far", mine, T0 + timedelta(hours=1), "breach")
    now, owned = T0 + timedelta(seconds=30), {partition_for(mine, 12)}
    before = timer_finds_in("timers_next")
    due, upcoming = await store.due_and_next(now, now + timedelta(seconds=30), owned)
    assert [tm.id for tm in due] == ["due-mine"] and upcoming == T0 + timedelta(seconds=40)
    assert timer_finds_in("timers_next") - before == 1
    due, upcoming = await store.due_and_next(now, now + timedelta(seconds=5), None)
    assert [tm.id for tm in due] == ["due-mine", "due-other"] and upcoming is None, "nothing pending in the window"
    due, upcoming = await store.due_and_next(now, now + timedelta(hours=2), owned, limit=2)
    assert [tm.id for tm in due] == ["due-mine"] and upcoming is None, "a full page of due timers: paged by partition"
    await client.close()


def timer_finds_in(collection: str) -> float:
    return db_commands(collection, "find")


class Line(BaseModel):
    id: str
    name: str
    order: int


async def test_directory_is_versioned_and_audited(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    store = DirectoryStore(db, Directory("lines-test", Line, "dir_lines_test", "routing"))
    await store.ensure_indexes()
    assert await store.put(Line(id="first", name="First line", order=1), actor="admin", at=T0) == 1
    assert await store.put(Line(id="first", name="L1", order=1), actor="admin", at=T0, expected_version=1) == 2
    try:
        await store.put(Line(id="first", name="stale", order=1), actor="other", at=T0, expected_version=1)
        raise AssertionError("stale write accepted")
    except VersionConflict:
        pass
    assert (await store.get("first")) == Line(id="first", name="L1", order=1)
    audit = [d async for d in db["dir_audit"].find({"key": "first"}).sort("version", 1)]
    assert [(a["version"], a["data"]["name"]) for a in audit] == [(1, "First line"), (2, "L1")]
    await client.close()
