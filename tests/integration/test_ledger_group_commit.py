"""The ledger's partition tasks write together (services/tickets/group_commit.py), on the real database: concurrent
saves go out as one command per collection, a stale writer still loses, and a refused insert fails only its own
task. A ``ReceiveMessage`` intake marks as opening a new ticket is inserted without a read; on a ticket that exists
(a redelivery, a wrong hint) the insert is refused and the command is handled as usual, once."""

from __future__ import annotations

import asyncio
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


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("insert", "update"):
            self.names.append(f"{event.command_name} {event.command[event.command_name]}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def ticket(tid: str, number: int, version: int = 1, **update: Any) -> Ticket:
    return Ticket(id=tid, number=number, version=version, channel=Channel.web, subject="s", created_at=AT,
                  updated_at=AT, status_changed_at=AT).model_copy(update=update)


async def test_concurrent_saves_go_out_as_one_command_and_a_stale_writer_still_loses(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    seen = Commands()
    client = mongo_client(settings, event_listeners=[seen])
    store = LedgerStore(database(client, settings))
    opened = [ticket(f"T-g{i}", i) for i in range(6)]
    await asyncio.gather(*(store.save(None, t, [], f"open-{t.id}") for t in opened))
    assert seen.names == ["insert tickets"]  # six tasks, one command

    seen.names.clear()
    later = AT + timedelta(minutes=1)
    moved = [t.model_copy(update={"version": 2, "offered_to": ["a1"], "updated_at": later}) for t in opened]
    await asyncio.gather(*(store.save(b, a, [], f"offer-{a.id}") for b, a in zip(opened, moved, strict=True)))
    assert seen.names == ["update tickets"]
    for t in moved:
        stored, processed = await store.load(t.id)
        assert stored == t and processed == {f"open-{t.id}", f"offer-{t.id}"}

    # a stale writer in a group: the counts do not say whose write missed, so every task of the group hears of it;
    # the one whose write landed finds its command on the ticket when it reads again
    fresh = moved[0].model_copy(update={"version": 3, "subject": "fresh"})
    stale = opened[1].model_copy(update={"version": 2, "subject": "stale"})
    results = await asyncio.gather(store.save(moved[0], fresh, [], "c-fresh"), store.save(opened[1], stale, [], "c-st"),
                                   return_exceptions=True)
    assert all(isinstance(r, ConcurrentWrite) for r in results)
    landed, processed = await store.load(moved[0].id)
    assert landed == fresh and "c-fresh" in processed
    kept, processed = await store.load(moved[1].id)
    assert kept == moved[1] and "c-st" not in processed

    # an insert meeting an existing ticket fails its own task only
    results = await asyncio.gather(store.save(None, ticket("T-g2", 99), [], "again"),
                                   store.save(None, ticket("T-g-new", 7), [], "open-new"), return_exceptions=True)
    assert isinstance(results[0], ConcurrentWrite) and results[1] is None
    assert (await store.load("T-g2"))[0] == moved[2] and (await store.load("T-g-new"))[0] == ticket("T-g-new", 7)
    await client.close()


async def test_a_group_write_that_fails_fails_every_task_and_the_next_group_still_goes(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = LedgerStore(database(client, settings))
    await client.close()  # the database is out of reach: nobody may take its write for done
    with pytest.raises(ConcurrentWrite):
        await store.save(None, ticket("T-closed", 1), [], "open")
    client = mongo_client(settings)
    store.tickets = store.group.tickets = database(client, settings)[store.tickets.name]
    await store.save(None, ticket("T-closed", 1), [], "open")
    assert (await store.load("T-closed"))[1] == {"open"}
    await client.close()
