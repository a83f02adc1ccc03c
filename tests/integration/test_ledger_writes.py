"""The ledger's update writes only the fields a command changed (every field written rewrites every index entry
on the embedded database), and still writes a field the stored document lacks; the version guard still holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import monitoring

from services.tickets.handlers import ConcurrentWrite
from services.tickets.store import LedgerStore
from shared.contracts.schemas.common import Channel
from shared.contracts.ticket import Ticket
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Updates(monitoring.CommandListener):
    def __init__(self) -> None:
        self.sets: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.sets += [u["u"].get("$set", {}) for u in event.command["updates"]]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_update_sets_only_changed_fields_and_keeps_the_version_guard(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    updates = Updates()
    client = mongo_client(settings, event_listeners=[updates])
    store = LedgerStore(database(client, settings))
    opened = Ticket(id="T-1", number=1, version=1, channel=Channel.web, subject="No connection",
                    created_at=AT, updated_at=AT, status_changed_at=AT)
    await store.save(None, opened, [], "c-open")
    before, processed = await store.load("T-1")
    assert before == opened and processed == {"c-open"}

    later = AT + timedelta(minutes=1)
    offered = before.model_copy(update={"version": 2, "offered_to": ["a1"], "updated_at": later})
    await store.save(before, offered, [], "c-offer")
    assert set(updates.sets[-1]) == {"version", "offered_to", "updated_at"}
    stored, processed = await store.load("T-1")
    assert stored == offered and processed == {"c-open", "c-offer"}

    with pytest.raises(ConcurrentWrite):  # a stale writer (still at version 1) loses
        await store.save(before, before.model_copy(update={"version": 2, "subject": "stale"}), [], "c-stale")

    # a document written before a field existed: the next update writes that field too
    await store.tickets.update_one({"_id": "T-1"}, {"$unset": {"message_count": ""}})
    old, _ = await store.load("T-1")
    assert old is not None and "message_count" not in old.model_fields_set
    await store.save(old, old.model_copy(update={"version": 3, "updated_at": later + timedelta(minutes=1)}), [],
                     "c-next")
    assert set(updates.sets[-1]) == {"version", "updated_at", "message_count"}
    raw = await store.tickets.find_one({"_id": "T-1"})
    assert raw is not None and raw["message_count"] == 0 and raw["version"] == 3 and raw["subject"] == "No connection"
    await client.close()
