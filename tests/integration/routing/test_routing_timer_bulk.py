"""``TimerStore.cancel_for_tickets`` on the real database: what ``cancel_for_ticket`` does for each, in one write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from shared.runtime.timers import TimerStore
from tests.support.testing import make_settings

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


async def test_cancel_for_tickets_removes_their_pending_timers_of_those_kinds_only(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    try:
        timers = TimerStore(database(client, settings)["bulk_timers"], 4)
        await timers.ensure_indexes()
        for timer_id, ticket_id, kind in (("a-auto", "A", "auto"), ("a-retry", "A", "retry"), ("a-sla", "A", "sla"),
                                          ("b-auto", "B", "auto"), ("a-fired", "A", "auto"), ("c-auto", "C", "auto")):
            await timers.schedule(timer_id, ticket_id, AT + timedelta(seconds=40), kind)
        await timers.mark_fired("a-fired", AT)
        await timers.cancel_for_tickets(["A", "B"], ["auto", "retry"])
        left = {d["_id"] async for d in timers.col.find({})}
        assert left == {"a-sla", "a-fired", "c-auto"}, "other kinds, fired timers and other tickets stay"
        await timers.cancel_for_tickets([])  # nothing to cancel: no write at all
    finally:
        await client.close()
