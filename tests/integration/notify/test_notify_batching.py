"""Notify's writes and claims go to the database in batches, and exactly once still holds (real broker, database
and SMTP server): N replies give N mails, one each, in a few database commands per mail; the same records
delivered again send nothing."""

from __future__ import annotations

from notify_support import ev, notify_running, notify_settings, publish, publisher
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from test_notify_delivery import client_ticket, reply

from services.notify.store import DELIVERIES
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.ids import new_id
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually

MAILS = 60


def by_command() -> dict[str, float]:
    """Database commands on notify's own collections (``notify_*``) sent by this process so far, by command."""
    text = generate_latest().decode()
    return {f"{s.labels['command']} {s.labels['collection']}": s.value for fam in text_string_to_metric_families(text)
            for s in fam.samples
            if s.name == "frontline_db_commands_total" and s.labels.get("collection", "").startswith("notify_")}


def notify_commands() -> float:
    return sum(by_command().values())


def opened(tids: list[str]) -> list[Envelope]:
    return [e for i, tid in enumerate(tids) for e in client_ticket(tid, Sender(email=f"b{i}@client.test"), number=i)]


async def test_a_burst_of_replies_is_mailed_once_each_in_few_commands_and_a_redelivery_sends_nothing(
        env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port, email_concurrency=8)
    tids = [new_id() for _ in range(MAILS)]
    replies = [reply(tid, text=f"Answer {i}") for i, tid in enumerate(tids)]
    addresses = [f"b{i}@client.test" for i in range(MAILS)]
    uncounted = AsyncMongoClient(s.mongodb_uri, tz_aware=True)  # the test's own reads stay out of the count
    deliveries = uncounted[s.mongodb_db][DELIVERIES]

    async def all_published() -> bool:
        sent = await deliveries.count_documents({"ticket_id": {"$in": tids}, "status": "sent",
                                                 "outcome_published": True})
        return bool(sent == MAILS)

    async with publisher(s) as bus, notify_running(s) as api:
        service = api._transport.app.state.service  # type: ignore[attr-defined]
        tickets_consumer = service.consumers[0]
        await bus.publish_many(TICKETS_EVENTS, opened(tids))
        await eventually(lambda: tickets_consumer.processed >= 2 * MAILS, timeout=120, message="tickets folded")

        before = by_command()
        await bus.publish_many(TICKETS_EVENTS, replies)
        await eventually(lambda: all(smtp.sink.to(a) for a in addresses), timeout=180, interval=0.2,
                         message="every reply mailed")
        await eventually(all_published, timeout=60, message="every outcome published")
        spent = {k: round((v - before.get(k, 0.0)) / MAILS, 2) for k, v in by_command().items()}
        per_mail = sum(spent.values())
        assert per_mail <= 4.0, f"{per_mail:.2f} database commands per mail: {spent}"  # 6.7 one by one

        # the broker hands the whole batch over again (a rebalance before the commit, say): nothing is sent twice
        seen = tickets_consumer.processed
        await bus.publish_many(TICKETS_EVENTS, replies)
        await eventually(lambda: tickets_consumer.processed >= seen + MAILS, timeout=120,
                         message="the redelivered batch handled")
        late = new_id()  # a fresh reply behind the redelivered ones: once it is mailed, they have had their chance
        await publish(bus, TICKETS_EVENTS, *client_ticket(late, Sender(email="late@client.test")),
                      ev(t.ReplySent(agent_id="ivan", text="After.", channel=Channel.email), late))
        await eventually(lambda: smtp.sink.to("late@client.test"), timeout=60, message="the later reply mailed")
    await uncounted.close()
    assert [len(smtp.sink.to(a)) for a in addresses] == [1] * MAILS
    assert sorted({m["X-Frontline-Ticket"] for a in addresses for m in smtp.sink.to(a)}) == sorted(tids)
