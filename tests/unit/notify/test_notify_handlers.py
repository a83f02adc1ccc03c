"""Notify's handler alone: events in, the projection folded and deliveries queued, on in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from services.notify.handlers import NotifyHandler
from services.notify.settings import NotifySettings
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import routing as rt
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.directory.routing import Agent, Role, ServiceTeam, Staff, TeamMember
from shared.runtime.clock import ManualClock
from tests.support.fakes.notify import FakeDirectories, FakeNotifyStore, FakeWaker

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STAFF = Staff(agents={"lead": Agent(id="lead", name="Lead", email="lead@s.test", language="en")},
              teams={"T": ServiceTeam(id="T", name="T", members=[TeamMember(agent_id="lead", role=Role.team_lead)])})
OPENED = t.TicketOpened(channel=Channel.email, number=9, subject="Printer", text="Принтер горит",
                        sender=Sender(email="anna@c.test", name="Anna"),
                        client=ClientRef(client_id="c1", contact_id="k1", service_team_id="T"))


@dataclass
class Notify:
    handler: NotifyHandler
    store: FakeNotifyStore
    waker: FakeWaker


@pytest.fixture
def notify() -> Notify:
    store, waker = FakeNotifyStore(), FakeWaker()
    settings = NotifySettings.model_validate({"default_language": "en"})
    return Notify(NotifyHandler(store, FakeDirectories(STAFF), waker, ManualClock(NOW), settings), store, waker)


def ev(msg: Message, id: str, cause: str | None = None) -> tuple[Envelope, Message]:
    env = envelope_for(msg, "T-1", occurred_at=NOW, id=id)
    return env.model_copy(update={"causation_id": cause}), msg


async def test_an_opened_ticket_is_folded_and_the_team_lead_is_told_in_app_and_by_mail(notify: Notify) -> None:
    await notify.handler.on_ticket_event(ev(OPENED, "e-open", "cmd-open"))
    view = notify.store.views["T-1"]
    assert (view.number, view.team_id, view.email, view.opened_cause) == (9, "T", "anna@c.test", "cmd-open")
    assert [(i["user_id"], i["event_id"]) for i in notify.store.inbox.values()] == [("lead", "e-open")]
    mails = list(notify.store.deliveries.values())
    assert [(d["recipient"], d["channel"], d["address"], d["status"]) for d in mails] == [
        ("lead", "email", "lead@s.test", "pending")]
    assert mails[0]["seq"] is not None and notify.handler.planned == 1
    assert notify.waker.woken == [{"email"}]


async def test_a_redelivered_event_queues_nothing_twice(notify: Notify) -> None:
    delivery = ev(OPENED, "e-open", "cmd-open")
    await notify.handler.on_ticket_event(delivery)
    before = (dict(notify.store.deliveries), dict(notify.store.inbox))
    await notify.handler.on_ticket_event(delivery)
    assert (notify.store.deliveries, notify.store.inbox) == before
    assert notify.handler.planned == 1 and notify.waker.woken == [{"email"}]


async def test_another_services_event_is_planned_on_the_projection_without_changing_it(notify: Notify) -> None:
    await notify.handler.on_ticket_event(ev(OPENED, "e-open", "cmd-open"))
    folded = notify.store.views["T-1"].model_copy(deep=True)
    await notify.handler.on_event(ev(rt.LeadAlerted(lead_ids=["lead"], reason="unclaimed"), "e-alert"))
    assert notify.store.views["T-1"] == folded
    assert {(d["recipient"], d["event_id"]) for d in notify.store.deliveries.values()} >= {("lead", "e-alert")}


async def test_a_resolution_is_mailed_to_the_client_in_the_tickets_language(notify: Notify) -> None:
    await notify.handler.on_ticket_event(ev(OPENED, "e-open", "cmd-open"))
    await notify.handler.on_ticket_event(ev(t.TicketResolved(
        agent_id="lead", problem="p", solution="s", channel=Channel.email, sender=OPENED.sender), "e-res"))
    client = [d for d in notify.store.deliveries.values() if d["audience"] == "client"]
    assert [(d["address"], d["event_id"], d["language"]) for d in client] == [("anna@c.test", "e-res", "ru")]


async def test_a_partitions_batch_queues_what_one_by_one_would_and_a_redelivered_batch_queues_nothing(
        notify: Notify) -> None:
    events = [ev(OPENED, "e-open", "cmd-open"),
              ev(t.ReplySent(agent_id="lead", text="On it", channel=Channel.email), "e-reply"),
              ev(t.TicketResolved(agent_id="lead", problem="p", solution="s", channel=Channel.email,
                                  sender=OPENED.sender), "e-res")]
    alone = FakeNotifyStore()
    one_by_one = NotifyHandler(alone, FakeDirectories(STAFF), FakeWaker(), ManualClock(NOW), notify.handler.s)
    for item in events:
        await one_by_one.on_ticket_event(item)
    await notify.handler.on_ticket_events(events)
    assert (notify.store.deliveries, notify.store.inbox) == (alone.deliveries, alone.inbox)
    assert notify.store.views == alone.views and notify.store.views["T-1"].resolutions == {"e-res": 3}
    assert len(alone.deliveries) >= 3 and notify.handler.planned == one_by_one.planned
    await notify.handler.on_ticket_events(events)
    assert notify.handler.planned == one_by_one.planned and notify.store.deliveries == alone.deliveries
