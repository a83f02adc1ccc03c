"""Many tickets' due SLA timers fire in one pass of the timer loop, each exactly once and in due order per ticket,
also when the pass fails half-way (real broker and database; the failure is a wrapper raising once around the real
publish or the real marking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sla_support import command, distinct, kinds, open_ticket, seed_sla

from services.sla.app import create_app as sla_app
from services.sla.domain import BREACH, WARN
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.topics import SLA_EVENTS
from shared.directory.sla import SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from shared.runtime.timers import Timer
from tests.support.testing import Tap, eventually, make_settings, running

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0
TICKETS = 10
# 80 % warnings: first response warned at 48 min, breached at 60; resolution at 96 and 120 min
ORDER = ["SlaWarning:first_response", "SlaBreached:first_response", "SlaWarning:resolution",
         "SlaBreached:resolution"]


def once_failing(real: Callable[..., Awaitable[Any]], why: str) -> Callable[..., Awaitable[Any]]:
    """``real``, except that its first call raises before doing anything (a crash at that point of the pass)."""
    calls = [0]

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError(why)
        return await real(*args, **kwargs)
    return wrapper


@pytest.mark.parametrize("fail", [None, "publish", "mark"])
async def test_tickets_due_together_fire_in_one_pass_once_each_in_order(env: dict[str, str], fail: str | None,
                                                                       ) -> None:
    clock = ManualClock(T0)
    settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_sla(db, SlaPolicy(id="default", warning_share=0.8,
                                 targets=Targets(first_response_seconds=HOUR, resolution_seconds=2 * HOUR)))
    bus = KafkaBus(settings, "test")
    ledger, sla = tickets_app(make_settings(TicketsSettings, env), clock), sla_app(settings, clock)
    service = sla.state.service
    batches: list[set[str]] = []
    fire_many = service.timers.fire_many

    async def recorded(due: Sequence[Timer]) -> list[str]:
        batches.append({tm.ticket_id for tm in due})
        done: list[str] = await fire_many(due)
        return done

    service.timers.fire_many = recorded
    ids = [f"T-b{i}" for i in range(TICKETS)]
    try:
        async with running(ledger), running(sla), Tap(settings, SLA_EVENTS) as sla_tap:
            await bus.start()
            for tid in ids:
                await command(bus, tid, open_ticket(), clock.now())
            timers = db["sla_timers"]
            await eventually(lambda: _count(timers, {"fired": False}, TICKETS), timeout=60,
                             message="every ticket's next timer pending")
            # one pending timer a ticket (its earliest step), not one per step: the others come from the clock
            assert await _count(timers, {"fired": False}, TICKETS, exact=True)
            if fail == "publish":  # the pass saved the new clocks with their outboxes, sent nothing yet
                service.bus.publish_many = once_failing(service.bus.publish_many, "broker went away")
            elif fail == "mark":  # the pass sent everything, marked no timer fired yet
                store = service.timers.store
                store.mark_fired_many = once_failing(store.mark_fired_many, "database went away")
            clock.set(T0 + timedelta(minutes=121))  # all of them due at once

            def complete() -> bool:
                return all(all(kinds(sla_tap.of(tid))[k] == 1 for k in ORDER) for tid in ids)

            await eventually(complete, timeout=60, message="every warning and breach of every ticket")
            await eventually(lambda: _count(timers, {"fired": False, "kind": {"$in": [WARN, BREACH]}}, 0,
                                            exact=True), timeout=30, message="warnings and breaches marked fired")
            assert len(batches[0]) == TICKETS, f"one pass fired every ticket's due timers: {batches[:3]}"
            for tid in ids:
                every = sla_tap.of(tid)
                if fail == "mark":
                    # Published, not marked: the outbox counts as published only once its timers are marked, so
                    # the next pass may send it again (unless an event of the ticket saved over it first), the
                    # same records (ids and content, checked by distinct), which readers dedupe.
                    every = distinct(every)
                sent = [e for e in every if e.type in ("SlaWarning", "SlaBreached")]
                assert [f"{e.type}:{e.payload['target']}" for e in sent] == ORDER, (tid, fail)
                assert [e.occurred_at for e in sent] == sorted(e.occurred_at for e in sent)
                assert len({e.id for e in every}) == len(every), f"an event of {tid} was sent twice ({fail})"
    finally:
        await bus.stop()
        await client.close()


async def _count(col: Any, query: dict[str, Any], want: int, exact: bool = False) -> bool:
    n = await col.count_documents(query)
    return bool(n == want if exact else n >= want)
