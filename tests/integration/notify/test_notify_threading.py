"""Through the real ledger: an e-mail ticket is taken and answered; mail threads, outcomes reach the ticket."""

from __future__ import annotations

from notify_support import NOW, ev, notify_running, notify_settings, publish, publisher, seed, text_of

from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.mail import ticket_of_message_id
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.ids import new_id
from tests.support.notify_servers import SmtpServer
from tests.support.testing import Tap, eventually, make_settings, running


async def test_client_reply_mail_threads_into_the_ticket(env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    await seed(s, agents=[Agent(id="ivan", name="Ivan", email="ivan@staff.test", language="en")])
    tid, anna = new_id(), Sender(email="anna@client.test", name="Anna")
    content = InboundContent(message_id="m1", channel=Channel.email, external_id="<c1@client.test>",
                             subject="Printer on fire", text="Please help, it is burning", sender=anna,
                             received_at=NOW, email_message_id="<c1@client.test>", references=["<c0@client.test>"])
    ledger = tickets_app(make_settings(TicketsSettings, env))
    async with running(ledger), notify_running(s), publisher(s) as bus, Tap(s, TICKETS_EVENTS) as events, \
            Tap(s, NOTIFY_EVENTS) as outcomes:
        await publish(bus, TICKETS_COMMANDS, ev(t.ReceiveMessage(channel=Channel.email, subject="Printer on fire",
                                                                 sender=anna, content=content), tid))
        await events.wait(tid, "MessageReceived")
        await publish(bus, TICKETS_COMMANDS, ev(t.AssignTicket(agent_id="ivan", mode="auto"), tid))
        await events.wait(tid, "TicketAssigned")
        await publish(bus, TICKETS_COMMANDS, ev(t.StartWork(agent_id="ivan"), tid))
        await events.wait(tid, "WorkStarted")
        await publish(bus, TICKETS_COMMANDS, ev(t.ReplyToClient(agent_id="ivan", text="Unplug it <now> & wait"), tid))
        await eventually(lambda: len(smtp.sink.to("anna@client.test")) >= 2, message="taken notice and reply")
        await eventually(lambda: smtp.sink.to("ivan@staff.test"), message="assignee notice")
        # Every outcome reaches the ticket's history through the ledger.
        recorded = await events.wait(tid, "NotificationRecorded", count=3)
        await outcomes.wait(tid, "NotificationSent", count=3)

    mails = smtp.sink.to("anna@client.test")
    assert len(mails) == 2, [m["Subject"] for m in mails]  # assigned + started = one "taken into work" notice
    taken, reply = sorted(mails, key=lambda m: "Re:" in m["Subject"])
    assert "being worked on" in taken["Subject"] and taken["Auto-Submitted"] == "auto-generated"
    assert reply["Subject"].startswith("Re: [#") and "Printer on fire" in reply["Subject"]
    assert reply["In-Reply-To"] == "<c1@client.test>"
    assert reply["References"].split() == ["<c0@client.test>", "<c1@client.test>"]
    assert reply["Auto-Submitted"] is None  # an agent wrote it: auto-responders may answer
    for m in mails:  # intake threads the client's answer back by our Message-ID
        assert ticket_of_message_id(m["Message-ID"], "desk.test") == tid
    assert len({m["Message-ID"] for m in mails}) == 2
    assert "Unplug it <now> & wait" in text_of(reply)
    html = reply.get_body(preferencelist=("html",))
    assert html is not None and "Unplug it &lt;now&gt; &amp; wait" in html.get_content()
    assert {e.payload["recipient"] for e in recorded} >= {"ivan"} and all(e.payload["outcome"] == "sent"
                                                                          for e in recorded)
