"""What a queue page and the queue counts cost the database (issue 19's speed bar), seen by a pymongo
CommandListener on the real database: the console's rows view reads only the fields a row shows, and a page or a
count makes the same number of bounded commands however many tickets the queue holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from gateway_support import stack
from pymongo import monitoring

from services.gateway.queries.counts import ONE_READ_LIMIT
from services.gateway.queries.keys import KEYS_FIELD
from shared.contracts.collections import TICKET_VIEWS
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef
from tests.support.desk import Desk

TEAM_A = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A")
ROW_KEYS = {"id", "number", "subject", "status", "assignee_id", "deadline", "created_at", "updated_at", "line",
            "client", "sender", "offered_to"}


class Commands(monitoring.CommandListener):
    """The reads of the gateway's ticket copies (what queues query) in one database, while ``db`` is set
    (registered for the process: pymongo has no way to take a listener back, so it stays idle outside these tests)."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.seen: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.db and event.command.get(event.command_name) == TICKET_VIEWS:
            self.seen.append({"name": event.command_name, **dict(event.command)})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = Commands()
monitoring.register(COMMANDS)  # before the desk's clients are made: a client takes the listeners of its birth


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with stack(infra) as s:
        yield s


async def offer(d: Desk, first: int, n: int) -> None:
    await d.seed([cmd for i in range(first, first + n) for cmd in (
        (f"R{i}", t.OpenTicket(channel=Channel.web, client=TEAM_A, subject=f"No line {i}", text="down " * 50)),
        (f"R{i}", t.OfferTicket(agent_ids=["ann"], line="first", service_team_id="A")))])


async def reads(d: Desk, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    COMMANDS.db, COMMANDS.seen = d.db.name, []
    try:
        resp = await d.http.get(path, params=params, headers=d.token("ann", "specialist", lines=["first"]))
    finally:
        COMMANDS.db = None
    assert resp.status_code == 200, resp.text
    return resp.json(), COMMANDS.seen


def fields_read(command: dict[str, Any]) -> set[str]:
    projection = command.get("projection") or {}
    assert projection and all(v in (1, True) for v in projection.values()), projection  # an inclusion: row fields
    return set(projection)


async def test_the_rows_view_reads_only_row_fields_in_as_many_commands_at_any_size(desk: Desk) -> None:
    await offer(desk, 0, 4)
    small, small_reads = await reads(desk, "/api/v1/queues/offers", {"view": "rows", "limit": 3})
    await offer(desk, 4, 30)
    large, large_reads = await reads(desk, "/api/v1/queues/offers", {"view": "rows", "limit": 3})

    assert len(small["items"]) == len(large["items"]) == 3 and small["next_cursor"] and large["next_cursor"]
    assert all(set(item) <= ROW_KEYS for item in small["items"] + large["items"]), large["items"][0]
    assert large["items"][0]["client"] == {"client_id": "C-1", "client_name": "Vector"}
    assert [c["name"] for c in small_reads] == [c["name"] for c in large_reads] != []
    for command in small_reads + large_reads:
        # bounded by a limit, or by a window of the queue's keys (queries/windows.py: offers walk them)
        bounded = 0 < command.get("limit", 0) <= 4 or KEYS_FIELD in command["filter"]
        assert command["name"] == "find" and bounded, command
        read = fields_read(command)
        assert not read & {"history", "processed_commands", "email_message_ids", "participants"}, read
        # and the participants' ids where a person's own tickets are one window (plan.py checks them)
        assert read <= ROW_KEYS - {"id"} | {"_id", "status_changed_at", "last_client_message_at",
                                            "participants.user_id"}, read

    # the next page follows on from the last row, in the same view
    after, _ = await reads(desk, "/api/v1/queues/offers", {"view": "rows", "limit": 3,
                                                           "cursor": large["next_cursor"]})
    first_ids = [i["id"] for i in large["items"]]
    assert len(after["items"]) == 3 and not {i["id"] for i in after["items"]} & set(first_ids)
    # the full view is still there, unchanged, for every other reader
    full, _ = await reads(desk, "/api/v1/queues/offers", {"limit": 3})
    assert [i["id"] for i in full["items"]] == first_ids and "channel" in full["items"][0]


async def test_counts_stop_at_the_cap_and_read_the_tickets_once_whatever_their_number(desk: Desk) -> None:
    before, before_reads = await reads(desk, "/api/v1/queues", {"cap": 5})
    await offer(desk, 100, 6)  # with the first test's, or alone: more offers than the cap
    body, commands = await reads(desk, "/api/v1/queues", {"cap": 5})
    assert body["counts"]["offers"] == 5 and body["capped"] == ["offers"] and body["cap"] == 5, body
    assert body["counts"]["mine"] == 0 and before["counts"]["mine"] == 0
    # one read of the caller's active tickets per scope branch, not ten counts: as many commands at any size
    assert [c["name"] for c in commands] == [c["name"] for c in before_reads] and 0 < len(commands) <= 4
    for command in commands:
        assert command["name"] == "find" and 0 < command.get("limit", 0) <= ONE_READ_LIMIT + 1, command
        assert not fields_read(command) & {"history", "processed_commands", "subject", "sender"}, command
    uncapped, _ = await reads(desk, "/api/v1/queues", {})
    rows, _ = await reads(desk, "/api/v1/queues/offers", {"view": "rows", "limit": 200})
    assert uncapped["capped"] == [] and uncapped["counts"]["offers"] == len(rows["items"]) >= 6
