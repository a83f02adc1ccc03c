"""Routing keeps its view of each ticket in memory while it holds the ticket's partition: one database read per
ticket from open to offer instead of one per event, the writes unchanged (real broker and database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from routing_support import desk

from services.routing.projection import TicketView
from services.routing.store import ConcurrentUpdate, ProjectionStore
from services.routing.view_memory import ViewMemory
from shared.contracts.schemas.common import TicketStatus
from shared.directory.routing import Agent
from shared.runtime.clock import ManualClock
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import db_commands, eventually, make_settings

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def view_reads() -> float:
    return db_commands("routing_tickets", "find")


async def test_open_to_offer_reads_each_view_once(env: dict[str, str]) -> None:
    async with desk(env, ManualClock(MONDAY_10)) as d:
        await d.put(Agent(id="ann", name="Ann", line_ids=["first"]))
        before = view_reads()
        ids = [f"T-mem-{i}" for i in range(4)]
        for tid in ids:
            await d.open(tid)
        for tid in ids:
            await d.wait(tid, "TicketOffered", timeout=60)
        views = d.db["routing_tickets"]

        async def saved() -> bool:
            return await views.count_documents({"_id": {"$in": ids}, "offer_round": 1}) == len(ids)
        await eventually(saved, timeout=60, message="the offers are in routing's stored views")
        reads = view_reads() - before
        assert reads <= len(ids), f"{reads} view reads for {len(ids)} tickets"


async def test_the_memory_is_forgotten_on_a_rebalance_and_on_a_refused_write(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    col = database(client, settings)["routing_tickets"]
    memory = ViewMemory(ProjectionStore(database(client, settings)), size=2)
    try:
        await col.delete_many({"_id": {"$in": ["M-1", "M-2", "M-3", "M-done"]}})
        await memory.save(TicketView(id="M-1", status=TicketStatus.offered, offer_round=1), 0)
        before = view_reads()
        view, version = await memory.get("M-1")
        assert view is not None and view.offer_round == 1 and version == 1 and view_reads() == before

        # another instance took the partition and moved the view on
        await col.update_one({"_id": "M-1"}, {"$set": {"offer_round": 2, "_v": 2}})
        await memory.partitions_changed(set())
        view, version = await memory.get("M-1")
        assert view is not None and view.offer_round == 2 and version == 2

        # a stale version is refused by the store and that ticket is forgotten, so the retry reads the stored one
        await memory.save(TicketView(id="M-1", offer_round=9), 2)  # kept at version 3
        await col.update_one({"_id": "M-1"}, {"$set": {"offer_round": 4, "_v": 4}})
        with pytest.raises(ConcurrentUpdate):
            await memory.save(TicketView(id="M-1", offer_round=10), 3)
        view, version = await memory.get("M-1")
        assert view is not None and view.offer_round == 4 and version == 4

        # a view read is kept too: the next get reads nothing
        before = view_reads()
        await memory.get("M-1")
        assert view_reads() == before

        # a view kept unwritten keeps the saved version: the next save is compare-and-set on it
        kept = TicketView(id="M-1", status=TicketStatus.in_progress, offer_round=4)
        memory.remember(kept, 4)
        assert await memory.get("M-1") == (kept, 4)
        assert (await col.find_one({"_id": "M-1"}) or {})["status"] == "new"  # nothing written
        await memory.save(kept.model_copy(update={"status": TicketStatus.resolved}), 4)
        assert (await col.find_one({"_id": "M-1"}) or {})["_v"] == 5
        # a remembered view older than what was saved meanwhile (the timer loop's save) is dropped, not kept
        memory.remember(kept, 4)
        assert len(memory) == 0
        before = view_reads()
        assert (await memory.get("M-1"))[1] == 5 and view_reads() == before + 1

        # a finished ticket is kept (its completion follows its resolution); at most ``size`` views are
        await memory.save(TicketView(id="M-done", status=TicketStatus.resolved), 0)
        assert (await memory.get("M-done"))[1] == 1
        for tid in ("M-2", "M-3"):
            await memory.save(TicketView(id=tid), 0)
        assert len(memory) == 2
    finally:
        await client.close()
