"""With FRONTLINE_TRACING on, one trace follows a message across every Kafka hop; off, records carry nothing."""

from __future__ import annotations

import httpx

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime import tracing
from tests.support.testing import Tap, eventually, make_settings, running


async def _open(env: dict[str, str], mode: str, external_id: str) -> tuple[list[object], TicketsSettings]:
    ledger_settings = make_settings(TicketsSettings, env, tracing=mode)
    intake = intake_app(make_settings(IntakeSettings, env, tracing=mode))
    async with running(tickets_app(ledger_settings)), running(intake), \
            Tap(ledger_settings, TICKETS_EVENTS, raw=True) as events, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=intake), base_url="http://intake") as http:
        resp = await http.post("/api/v1/inbound", json={
            "channel": "web", "external_id": external_id, "sender": {"email": "trace@client.example"},
            "subject": "Traced", "text": "follow me"})
        assert resp.status_code == 202, resp.text
        records = await eventually(lambda: len(events.items) >= 2 and list(events.items), message="ticket events")
    return records, ledger_settings


async def test_one_trace_follows_a_message_from_the_webhook_to_the_ledgers_events(env: dict[str, str]) -> None:
    records, settings = await _open(env, "memory", "trace-1")
    prefix = settings.topic_prefix
    spans = [s for s in tracing.finished_spans() if s.name.startswith(prefix)]
    by_name = {s.name.removeprefix(prefix): s for s in spans}
    hops = ["inbound.messages publish", "inbound.messages process", "tickets.commands publish",
            "tickets.commands process", "tickets.events publish"]
    assert set(hops) <= set(by_name), sorted(by_name)
    chain = [by_name[h] for h in hops]
    assert len({s.context.trace_id for s in chain}) == 1, "one trace from the webhook to the ledger's events"
    for parent, child in zip(chain, chain[1:], strict=False):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id, child.name
    assert chain[1].resource.attributes["service.name"] == "frontline-intake"
    assert chain[3].resource.attributes["service.name"] == "frontline-tickets"
    assert chain[3].attributes["frontline.message_type"] == "ReceiveMessage"
    assert chain[3].attributes["messaging.consumer.group.name"].endswith("tickets-ledger")
    for record in records:
        headers = dict(record.headers)  # type: ignore[attr-defined]
        assert f"{chain[0].context.trace_id:032x}" in headers["traceparent"].decode()


async def test_off_adds_no_header_and_records_no_span(env: dict[str, str]) -> None:
    before = len(tracing.finished_spans())
    records, _ = await _open(env, "off", "trace-2")
    assert all("traceparent" not in dict(r.headers) for r in records)  # type: ignore[attr-defined]
    assert len(tracing.finished_spans()) == before
