"""Routing reads its directories once per expiry for the whole process: the partition tasks that find the cache
stale together wait on one reload instead of each reading all seven directories, and that reload reads the seven
in one command (real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.routing.directories import StaffReader
from shared.directory import DirectoryStore
from shared.directory.classification import URGENCY_RULES, UrgencyRule
from shared.directory.routing import AGENTS, LINES, Agent, Line
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import db_commands, make_settings

AT = datetime(2026, 1, 1, tzinfo=UTC)
PARTITIONS = 12


def reads(collection: str) -> float:
    return db_commands(collection)


async def test_partitions_share_one_directory_reload(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await DirectoryStore(db, LINES).put(Line(id="first", order=1), actor="test", at=AT)
    await DirectoryStore(db, AGENTS).put(Agent(id="a1", name="A", line_ids=["first"]), actor="test", at=AT)
    await DirectoryStore(db, URGENCY_RULES).put(UrgencyRule(id="down", keywords=["down"]), actor="test", at=AT)
    staff = StaffReader(db, ttl=60)
    before = {c: reads(c) for c in (AGENTS.collection, LINES.collection, "dir_urgency_rules")}
    snapshots = await asyncio.gather(*(staff.snapshot() for _ in range(PARTITIONS)))
    triages = await asyncio.gather(*(staff.triage() for _ in range(PARTITIONS)))
    assert all(s.agents.keys() == {"a1"} and s.lines.keys() == {"first"} for s in snapshots)
    assert all(t == ([], [UrgencyRule(id="down", keywords=["down"])]) for t in triages)
    # one aggregate on the agents' collection joins the other six
    assert {c: reads(c) - n for c, n in before.items()} == {AGENTS.collection: 1, LINES.collection: 0,
                                                           "dir_urgency_rules": 0}
    await client.close()
