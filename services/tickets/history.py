"""A ticket's stored history, read for merge and split (``handlers.HistoryReader``)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import TICKETS

from .handlers import HistoryReader


def history_reader(db: AsyncDatabase) -> HistoryReader:
    async def read(ticket_id: str) -> list[dict[str, Any]]:
        doc = await db[TICKETS].find_one({"_id": ticket_id}, {"history": 1})
        return list((doc or {}).get("history") or [])
    return read
