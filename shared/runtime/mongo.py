"""MongoDB adapter helpers: client factory and per-service index bootstrap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.settings import CommonSettings


def mongo_client(settings: CommonSettings, **kwargs: Any) -> AsyncMongoClient:
    """tz_aware so datetimes come back as UTC-aware, matching the clock."""
    return AsyncMongoClient(settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10_000, **kwargs)


def database(client: AsyncMongoClient, settings: CommonSettings) -> AsyncDatabase:
    return client[settings.mongodb_db]


async def ensure_indexes(db: AsyncDatabase, indexes: Mapping[str, Sequence[IndexModel]]) -> None:
    """Idempotent: each service declares the indexes of the collections it owns."""
    for collection, models in indexes.items():
        if models:
            await db[collection].create_indexes(list(models))
