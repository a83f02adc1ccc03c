"""/metrics on every running service moves: a message through intake → ledger → routing, SLA, notify, feedback
and gateway on the real broker and database.

The services run in this process, so they share one Prometheus registry (served by ``metrics_app``, what each
process serves on its metrics port): every assertion is on the series labelled with the service, and on the
change across the scenario (other tests in the session move the same counters). Each step waits on what it
needs (every service ready, the records on their topics), never on the wall clock: the machine may be loaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.feedback.app import create_app as feedback_app
from services.feedback.settings import FeedbackSettings
from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.topics import INBOUND_MESSAGES, ROUTING_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.kafka import KafkaBus, read_dead_letters
from shared.runtime.service import metrics_app
from tests.support.testing import Tap, eventually, make_settings, running

WAIT = 180.0  # room for a loaded machine: each wait ends as soon as its condition holds


def asgi(app: object, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)  # type: ignore[arg-type]


def value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 when absent)."""
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def scrape(metrics: httpx.AsyncClient) -> str:
    resp = await metrics.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return resp.text


SERIES: Mapping[str, list[tuple[str, dict[str, str]]]] = {
    "intake": [
        ("frontline_http_request_seconds_count",
         {"service": "intake", "method": "POST", "route": "/api/v1/inbound", "status": "202"}),
        ("frontline_messages_consumed_total", {"service": "intake", "topic": INBOUND_MESSAGES.name}),
        ("frontline_handler_seconds_count", {"service": "intake", "topic": INBOUND_MESSAGES.name}),
        ("frontline_messages_produced_total", {"service": "intake", "topic": TICKETS_COMMANDS.name}),
        ("frontline_messages_consumed_total", {"service": "intake", "topic": TICKETS_EVENTS.name}),
    ],
    "tickets": [
        ("frontline_messages_consumed_total", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
        ("frontline_handler_seconds_count", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
        ("frontline_handler_seconds_sum", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
        ("frontline_record_wait_seconds_count", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
        ("frontline_batch_seconds_count", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
        ("frontline_publish_seconds_count", {"service": "tickets", "topic": TICKETS_EVENTS.name}),
        ("frontline_messages_produced_total", {"service": "tickets", "topic": TICKETS_EVENTS.name}),
        ("frontline_dead_letters_total", {"service": "tickets", "topic": TICKETS_COMMANDS.name}),
    ],
    "gateway": [
        ("frontline_http_request_seconds_count",
         {"service": "gateway", "method": "GET", "route": "/api/v1/tickets", "status": "200"}),
    ],
    # nobody is on shift in this scenario: routing says so on routing.events
    "routing": [
        ("frontline_messages_consumed_total", {"service": "routing", "topic": TICKETS_EVENTS.name}),
        ("frontline_handler_seconds_count", {"service": "routing", "topic": TICKETS_EVENTS.name}),
        ("frontline_messages_produced_total", {"service": "routing", "topic": ROUTING_EVENTS.name}),
    ],
    "sla": [
        ("frontline_messages_consumed_total", {"service": "sla", "topic": TICKETS_EVENTS.name}),
        ("frontline_handler_seconds_count", {"service": "sla", "topic": TICKETS_EVENTS.name}),
    ],
    "notify": [
        ("frontline_messages_consumed_total", {"service": "notify", "topic": TICKETS_EVENTS.name}),
        ("frontline_messages_consumed_total", {"service": "notify", "topic": ROUTING_EVENTS.name}),
    ],
    "feedback": [
        ("frontline_messages_consumed_total", {"service": "feedback", "topic": TICKETS_EVENTS.name}),
    ],
}


async def test_counters_move_on_each_running_service(env: dict[str, str]) -> None:
    gateway_settings = make_settings(GatewaySettings, env)
    tickets_settings = make_settings(TicketsSettings, env)
    apps = {"tickets": tickets_app(tickets_settings), "intake": intake_app(make_settings(IntakeSettings, env)),
            "gateway": gateway_app(gateway_settings), "routing": routing_app(make_settings(RoutingSettings, env)),
            "sla": sla_app(make_settings(SlaSettings, env, pending_gauge_seconds=0.2)),
            "notify": notify_app(make_settings(NotifySettings, env)),
            "feedback": feedback_app(make_settings(FeedbackSettings, env))}
    bus = KafkaBus(tickets_settings, "metrics-test")
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        for svc, app in apps.items():
            await stack.enter_async_context(running(app))
            clients[svc] = await stack.enter_async_context(asgi(app, f"http://{svc}"))
        metrics = await stack.enter_async_context(asgi(metrics_app(), "http://metrics"))
        events = await stack.enter_async_context(Tap(tickets_settings, TICKETS_EVENTS))
        routing = await stack.enter_async_context(Tap(tickets_settings, ROUTING_EVENTS))

        async def all_ready() -> bool:
            return all([(await c.get("/readyz")).status_code == 200 for c in clients.values()])

        await eventually(all_ready, timeout=WAIT, interval=0.5, message="every service ready (consumers joined)")
        ic, gc = clients["intake"], clients["gateway"]
        before = {svc: await scrape(metrics) for svc in clients}
        gc.headers["Authorization"] = f"Bearer {mint_token(gateway_settings, 'ops', 'administrator')}"

        resp = await ic.post("/api/v1/inbound", json={
            "channel": "web", "external_id": "metrics-1", "sender": {"email": "metrics@client.example"},
            "subject": "Metrics", "text": "Count me"})
        assert resp.status_code == 202, resp.text

        async def listed() -> bool:
            r = await gc.get("/api/v1/tickets")
            return r.status_code == 200 and any(t["subject"] == "Metrics" for t in r.json()["items"])

        opened = await events.wait(type="TicketOpened", timeout=WAIT)
        await routing.wait(ticket_id=opened[0].ticket_id, timeout=WAIT)  # nobody on shift: routing says so
        await eventually(listed, timeout=WAIT, interval=0.5, message="ticket visible through the gateway")
        # A record the ledger cannot decode: dead-lettered, and counted.
        await bus.start()
        try:
            await bus.publish_raw(bus.topic(TICKETS_COMMANDS), b"T-metrics", b"{not json")
        finally:
            await bus.stop()
        await eventually(lambda: read_dead_letters(tickets_settings, TICKETS_COMMANDS), timeout=WAIT, interval=0.5,
                         message="the undecodable command dead-lettered")

        async def moved() -> dict[str, str] | None:
            after = {svc: await scrape(metrics) for svc in clients}
            stuck = [(svc, name, labels) for svc, series in SERIES.items() for name, labels in series
                     if value(after[svc], name, **labels) <= value(before[svc], name, **labels)]
            return None if stuck else after

        # consumers that publish nothing (notify, feedback, SLA) are seen only through their counters
        after = await eventually(moved, timeout=WAIT, interval=0.5, message="every listed series to move")
        ticket_events = value(after["intake"], "frontline_messages_consumed_total",
                              service="intake", topic=TICKETS_EVENTS.name)
        assert ticket_events - value(before["intake"], "frontline_messages_consumed_total", service="intake",
                                     topic=TICKETS_EVENTS.name) >= 2, "TicketOpened and MessageReceived"
        # Lag is published per partition after each batch; the histogram exposes its buckets.
        assert any(s.name == "frontline_consumer_lag" and s.labels["service"] == "tickets"
                   for fam in text_string_to_metric_families(after["tickets"]) for s in fam.samples)
        assert value(after["tickets"], "frontline_handler_seconds_bucket", service="tickets",
                     topic=TICKETS_COMMANDS.name, le="+Inf") == value(
            after["tickets"], "frontline_handler_seconds_count", service="tickets", topic=TICKETS_COMMANDS.name)
        # the SLA worker publishes how many of its timers wait (its gauge, beside the shared consumer series)
        assert any(s.name == "frontline_sla_timers_pending" and s.labels["service"] == "sla"
                   for fam in text_string_to_metric_families(after["sla"]) for s in fam.samples)
