"""The clock store keeps one pending timer per ticket (its next step) and, told what the loaded clock implies,
syncs without reading the timers back (real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla.model import TimerPlan
from services.sla.settings import SlaSettings
from services.sla.store import ClockStore
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import db_commands, make_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def timer_commands(command: str) -> float:
    return db_commands("sla_timers", command)


def plan(name: str, minutes: float) -> TimerPlan:
    return TimerPlan(name, T0 + timedelta(minutes=minutes), "sla.breach", {"target": name, "epoch": 0})


async def test_one_pending_timer_a_ticket_and_no_read_back_when_the_clock_is_known(env: dict[str, str]) -> None:
    settings = make_settings(SlaSettings, env)
    client = mongo_client(settings)
    store = ClockStore(database(client, settings))
    await store.timers.ensure_indexes()
    col = store.timers.col
    try:
        warn, breach, later = plan("warn", 48), plan("breach", 60), plan("resolution", 240)
        await store.sync_timers_many({"T-1": [breach, warn, later]}, {})  # read (nothing there), then written
        assert [d["_id"] async for d in col.find({"ticket_id": "T-1", "fired": False})] == ["warn"]

        # the warning fires: told what the clock implied before, the store writes the next timer without a read
        finds = timer_commands("find")
        await store.sync_timers_many({"T-1": [breach, later]}, {"T-1": ["warn"]}, known={"T-1": [warn, breach, later]})
        assert timer_commands("find") == finds
        await store.mark_fired_many(["warn"], T0)
        assert [d["_id"] async for d in col.find({"ticket_id": "T-1", "fired": False})] == ["breach"]

        # nothing changed for a known clock: no command at all
        finds, writes = timer_commands("find"), timer_commands("update") + timer_commands("delete")
        await store.sync_timers_many({"T-1": [breach, later]}, {}, known={"T-1": [breach, later]})
        assert timer_commands("find") == finds and timer_commands("update") + timer_commands("delete") == writes

        # the next step moved (a new epoch): the stale timer goes, the new one comes, still without a read
        moved, finds = plan("breach2", 90), timer_commands("find")
        await store.sync_timers_many({"T-1": [moved, later]}, {}, known={"T-1": [breach, later]})
        assert timer_commands("find") == finds
        assert [d["_id"] async for d in col.find({"ticket_id": "T-1", "fired": False})] == ["breach2"]
    finally:
        await client.close()
