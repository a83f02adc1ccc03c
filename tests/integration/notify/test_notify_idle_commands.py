"""An idle notify sends the database about one command a second or fewer (every loop rests until told of work or
until work falls due), and a reply after a long rest is mailed at once (real broker, database and SMTP server)."""

from __future__ import annotations

import asyncio

from notify_support import ev, notify_running, notify_settings, publish, publisher
from test_notify_batching import notify_commands
from test_notify_delivery import client_ticket

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime.ids import new_id
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually

IDLE_SECONDS = 12.0


async def test_an_idle_notify_makes_at_most_one_command_a_second_and_wakes_for_a_reply(env: dict[str, str],
                                                                                     smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)  # poll_interval 0.05: a polling loop would ask 20 times a second
    async with publisher(s) as bus, notify_running(s) as api:
        service = api._transport.app.state.service  # type: ignore[attr-defined]
        warm = new_id()  # one mail first, so start-up and the first delivery's wake-ups are behind us
        await publish(bus, TICKETS_EVENTS, *client_ticket(warm, Sender(email="warm@client.test")),
                      ev(t.ReplySent(agent_id="ivan", text="Hi.", channel=Channel.email), warm))
        await eventually(lambda: smtp.sink.to("warm@client.test"), timeout=60, message="the first reply mailed")
        await eventually(lambda: service.dispatcher.delivered >= 1, timeout=30, message="its delivery recorded")

        before = notify_commands()
        await asyncio.sleep(IDLE_SECONDS)  # the span measured: nothing happens in it
        idle = notify_commands() - before
        assert idle <= IDLE_SECONDS, f"{idle} database commands in {IDLE_SECONDS} s of idle"

        tid = new_id()
        await publish(bus, TICKETS_EVENTS, *client_ticket(tid, Sender(email="after-rest@client.test")),
                      ev(t.ReplySent(agent_id="ivan", text="Fixed.", channel=Channel.email), tid))
        await eventually(lambda: smtp.sink.to("after-rest@client.test"), timeout=30,
                         message="the reply after the rest mailed")
    assert len(smtp.sink.to("after-rest@client.test")) == 1
