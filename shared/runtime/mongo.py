"""MongoDB adapter helpers: client factory, per-service index bootstrap, and a count of the commands sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Counter
from pymongo import AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from shared.runtime.settings import CommonSettings

INDEX_NOT_FOUND = 27  # the server's error code for dropping an index that is not there
DUPLICATE_KEY = 11000  # the server's error code for a key that is already there

DB_COMMANDS = Counter(
    "frontline_db_commands_total", "Database commands sent (a bulk write is one per batch), by command and collection",
    ["command", "collection"],
)


class CommandCounter(monitoring.CommandListener):
    """Counts each command as it starts: the cost a service puts on the database is mostly the number of commands
    (each has a fixed overhead there), so this is what a throughput change is measured by."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get(name)
        collection = target if isinstance(target, str) else str(event.command.get("collection", ""))
        DB_COMMANDS.labels(name, collection).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def mongo_client(settings: CommonSettings, **kwargs: Any) -> AsyncMongoClient:
    """tz_aware so datetimes come back as UTC-aware, matching the clock."""
    listeners = [CommandCounter(), *kwargs.pop("event_listeners", ())]
    return AsyncMongoClient(settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10_000,
                            event_listeners=listeners, **kwargs)


def database(client: AsyncMongoClient, settings: CommonSettings) -> AsyncDatabase:
    return client[settings.mongodb_db]


async def ensure_indexes(db: AsyncDatabase, indexes: Mapping[str, Sequence[IndexModel]],
                         exclusive: bool = False) -> None:
    """Idempotent: each service declares the indexes of the collections it owns. ``exclusive`` also drops every
    other index on them (each costs every write; an older release may have left one behind)."""
    for collection, models in indexes.items():
        if models:
            await db[collection].create_indexes(list(models))
        if exclusive:
            declared = {"_id_", *(m.document["name"] for m in models)}
            for info in [i async for i in await db[collection].list_indexes()]:
                if info["name"] not in declared:
                    try:
                        await db[collection].drop_index(info["name"])
                    except OperationFailure as exc:  # another replica starting beside this one dropped it first
                        if exc.code != INDEX_NOT_FOUND:
                            raise


def duplicates_only(exc: BulkWriteError) -> list[int]:
    """The positions of a bulk write's operations refused only because their key is already there, which an
    idempotent write meets on a redelivery or a race it lost; any other refusal, or an unsure write concern, is raised
    again."""
    errors = exc.details.get("writeErrors", [])
    if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors) or exc.details.get("writeConcernErrors"):
        raise exc
    return [int(e["index"]) for e in errors]
