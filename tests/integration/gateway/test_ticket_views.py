"""The gateway's copies of the tickets (``gateway_ticket_views``) on the real database: a copy never goes backwards, the
catch-up at start copies only what is missing or older, and the ledger keeps no index but its own."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.queries.keys import KEYS_FIELD, SHAPE_FIELD, SHAPE_VERSION
from services.gateway.queries.store import TICKET_INDEXES, Reads
from services.gateway.queries.views import TicketViews
from services.gateway.settings import GatewaySettings
from services.tickets.store import INDEXES
from shared.contracts.collections import TICKET_VIEWS, TICKETS
from shared.runtime.mongo import ensure_indexes
from tests.support.testing import isolated_env, make_settings


def ticket(tid: str, version: int, status: str = "new") -> dict[str, Any]:
    return {"_id": tid, "version": version, "status": status, "history": [{"type": "TicketOpened"}],
            "processed_commands": ["c-1"]}


async def copies(db: AsyncDatabase[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["_id"]: d async for d in db[TICKET_VIEWS].find({})}


async def test_a_copy_leaves_the_history_behind_and_never_goes_backwards(db: AsyncDatabase[dict[str, Any]]) -> None:
    views = TicketViews(db)
    await db[TICKETS].insert_one(ticket("T1", 3, "in_progress"))
    assert await views.copy(["T1", "T1", "unknown"]) == 1
    assert (await copies(db))["T1"] == {"_id": "T1", "version": 3, "status": "in_progress", KEYS_FIELD: [],
                                        SHAPE_FIELD: SHAPE_VERSION}

    # a slower replica read version 2 before the ledger wrote 3: its copy is refused, the newer one stays
    await db[TICKET_VIEWS].replace_one({"_id": "T1"}, {"_id": "T1", "version": 4, "status": "resolved"})
    await views.copy(["T1"])
    assert (await copies(db))["T1"]["status"] == "resolved"


async def test_the_catch_up_copies_what_is_missing_or_older_and_nothing_else(db: AsyncDatabase[dict[str, Any]]) -> None:
    views = TicketViews(db)
    await db[TICKETS].insert_many([ticket(f"C{i}", 2) for i in range(1203)])
    await db[TICKET_VIEWS].insert_many([{"_id": "C0", "version": 2, "status": "new", SHAPE_FIELD: SHAPE_VERSION},
                                        {"_id": "C1", "version": 1, "status": "old"},  # behind
                                        {"_id": "C2", "version": 2, "status": "new"}])  # an older build's shape
    assert await views.catch_up() == 1202
    held = await copies(db)
    assert len(held) == 1203 and held["C1"]["status"] == "new"
    assert KEYS_FIELD not in held["C0"] and held["C2"][KEYS_FIELD] == [] and held["C2"][SHAPE_FIELD] == SHAPE_VERSION
    assert all("history" not in d and "processed_commands" not in d for d in held.values())
    assert await views.catch_up() == 0


async def test_a_first_copy_builds_its_indexes_after_the_catch_up(infra: dict[str, str]) -> None:
    reads = Reads(make_settings(GatewaySettings, {**infra, **isolated_env()}))
    try:
        await reads.db[TICKETS].insert_many([{**ticket(f"F{i}", 1), "last_message_from": "client"}
                                             for i in range(50)])
        await reads.start()
        assert [i["name"] async for i in await reads.tickets.list_indexes()] in ([], ["_id_"])
        assert await reads.views.catch_up() == 50
        names = {i["name"] async for i in await reads.tickets.list_indexes()}
        assert names == {"_id_", *(m.document["name"] for m in TICKET_INDEXES)}
        assert reads.find.sketch._samples  # the windows' hints were seeded from the copies
        await reads.start()  # a later start on a filled copy builds (keeps) them at once
    finally:
        await reads.client.drop_database(reads.settings.mongodb_db)
        await reads.stop()


async def test_the_ledger_drops_an_index_it_did_not_declare(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[TICKETS].create_indexes([IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)])])
    await ensure_indexes(db, INDEXES, exclusive=True)
    names = {i["name"] async for i in await db[TICKETS].list_indexes()}
    assert names == {"_id_", *(m.document["name"] for m in INDEXES[TICKETS])}
