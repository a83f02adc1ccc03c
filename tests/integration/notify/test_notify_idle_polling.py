"""An idle notify does not poll its delivery queue: each channel's feeder rests until the earliest pending delivery
is due (at most ``FEEDER_IDLE_MAX_SECONDS``) or until it is told of a new one, and the sweeper rests while it finds
nothing (real broker, database and SMTP server, real time)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from notify_support import ev, notify_running, notify_settings, publish, publisher
from test_notify_delivery import client_ticket

from services.notify.store import DELIVERIES
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import SmtpServer
from tests.support.testing import db_commands, eventually


def delivery_queries() -> float:
    return db_commands(DELIVERIES, "find")


async def test_an_idle_feeder_rests_and_still_sends_what_comes_and_what_falls_due(env: dict[str, str],
                                                                                  smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)  # poll_interval 0.05: polling would ask 20 times a second per channel
    client = mongo_client(s)
    deliveries = database(client, s)[DELIVERIES]
    try:
        async with publisher(s) as bus, notify_running(s):
            await asyncio.sleep(1.0)  # start-up claims are not idle
            before = delivery_queries()
            await asyncio.sleep(3.0)
            idle = delivery_queries() - before
            assert idle <= 12, f"{idle} delivery queries in 3 s of idle"

            # a new notice wakes the feeder at once
            tid = new_id()
            await publish(bus, TICKETS_EVENTS, *client_ticket(tid, Sender(email="woken@client.test")),
                          ev(t.ReplySent(agent_id="ivan", text="Fixed.", channel=Channel.email), tid))
            await eventually(lambda: smtp.sink.to("woken@client.test"), timeout=30, message="the reply was mailed")

            # a delivery nobody was told of (another replica's, say), due in a moment, is sent soon after it is due
            doc = await deliveries.find_one({"ticket_id": tid})
            assert doc is not None
            due = datetime.now(UTC) + timedelta(seconds=1.5)
            await deliveries.insert_one({**doc, "_id": new_id(), "recipient": "later", "address": "later@client.test",
                                         "status": "pending", "attempts": 0, "next_attempt_at": due, "seq": None,
                                         "outcome_published": None})
            await eventually(lambda: smtp.sink.to("later@client.test"), timeout=30, message="the due one was mailed")
            sent = await eventually(lambda: deliveries.find_one({"recipient": "later", "ticket_id": tid,
                                                                 "status": "sent"}),
                                    timeout=30, message="the due one marked sent")  # the mark follows the SMTP reply
            assert sent["sent_at"] >= due
    finally:
        await client.close()
