"""The SLA's faust consumer fetches with the adaptive wait (services/sla/faust_fetch.py) on the real broker: after a
quiet spell the fetch requests on the wire carry the idle wait and come about once per wait; an event sent then is
still handled, with the short wait back; a trickle of events afterwards is handled at the short wait, each once."""

from __future__ import annotations

import asyncio
import time

from sla_support import command, open_ticket, seed_sla

from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, Message
from shared.directory.sla import SlaPolicy, Targets
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.fetch_log import FetchLog
from tests.support.testing import eventually, make_settings, running

WAIT = 60.0  # generous: the suite runs on a loaded machine
SHORT, IDLE = 10, 800


async def test_the_sla_consumer_waits_long_at_idle_and_short_while_events_come(env: dict[str, str]) -> None:
    clock = ManualClock()
    common = {"kafka_fetch_max_wait_ms": SHORT, "kafka_fetch_idle_wait_ms": IDLE}
    settings = make_settings(SlaSettings, env, **common)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_sla(db, SlaPolicy(id="default", targets=Targets(first_response_seconds=3600)))
    ledger, sla = tickets_app(make_settings(TicketsSettings, env, **common), clock), sla_app(settings, clock)
    stream = sla.state.service.stream
    handled: list[tuple[str, int | None]] = []  # each opening the SLA handled, and the wait right then
    deliver = stream.batch
    assert deliver is not None  # events come in batches (services/sla/batch.py)

    async def recorded(deliveries: list[tuple[Envelope, Message]]) -> None:
        await deliver(deliveries)
        handled.extend((env_.ticket_id, stream.fetch_wait_ms) for env_, _ in deliveries
                       if env_.type == "TicketOpened")

    stream.batch = recorded
    bus = KafkaBus(settings, "test")
    try:
        async with running(ledger), running(sla):
            await bus.start()
            await eventually(lambda: stream.fetch_wait_ms == IDLE, timeout=WAIT, message="the idle wait")
            fetches = FetchLog(stream.app.consumer._thread._consumer._client)
            quiet_from = time.monotonic()
            await asyncio.sleep(3)
            idle = fetches.since(quiet_from)
            assert idle and all(w == IDLE for w in idle), f"idle fetches carry the long wait: {idle}"
            assert len(idle) <= 10, f"about one fetch per wait while idle, not one per 10 ms: {len(idle)} in 3 s"

            await command(bus, "T-quiet", open_ticket(), clock.now())
            await eventually(lambda: [tid for tid, _ in handled] == ["T-quiet"], timeout=WAIT,
                             message="the event after the quiet spell")
            assert handled[-1][1] == SHORT, "records bring the short wait back"

            ids = [f"T-flow{i}" for i in range(8)]
            for tid in ids:  # a trickle: each opening sent once the one before it is handled
                await command(bus, tid, open_ticket(), clock.now())
                await eventually(lambda tid=tid: any(h == tid for h, _ in handled), timeout=WAIT,  # type: ignore[misc]
                                 message=f"{tid} handled")
            assert [w for _, w in handled] == [SHORT] * 9, f"short whenever events come: {handled}"
            assert [tid for tid, _ in handled] == ["T-quiet", *ids], "each once, in order"
            assert await db["sla_clocks"].count_documents({}) == 9
    finally:
        await bus.stop()
        await client.close()
