"""Client deadline reminders on the real broker, database and SMTP server reach the people who must act."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from notify_support import NOW, ev, notify_running, notify_settings, publish, publisher, seed, text_of

from services.notify.store import TICKETS as NOTIFY_TICKETS
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.contracts.topics import NOTIFY_EVENTS, SLA_EVENTS, TICKETS_EVENTS
from shared.directory.routing import Agent, Availability, Group, Role, ServiceTeam, TeamMember
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import SmtpServer
from tests.support.testing import Tap, eventually

AGENTS = [Agent(id="ivan", name="Ivan", email="ivan@staff.test"),
          Agent(id="vera", name="Vera", email="vera@staff.test", availability=Availability.off_shift),
          Agent(id="lead", name="Lea", email="lead@staff.test", roles=[Role.team_lead]),
          Agent(id="glead", name="Gleb", email="glead@staff.test")]
TEAM = ServiceTeam(id="T", name="Acme", members=[TeamMember(agent_id="lead", role=Role.team_lead),
                                                 TeamMember(agent_id="ivan"), TeamMember(agent_id="vera")])
DEADLINE_SUBJECT = "До срока клиента"  # the agents read Russian (the default language)


def opened(number: int) -> t.TicketOpened:
    return t.TicketOpened(channel=Channel.email, number=number, subject=f"Ticket {number}", text="Please help",
                          sender=Sender(email=f"client{number}@client.test"), group_id="g",
                          client=ClientRef(client_id=f"c{number}", service_team_id="T"))


async def test_a_deadline_reminder_reaches_the_assignee_once_or_the_team_leads(env: dict[str, str],
                                                                              smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    await seed(s, agents=AGENTS, teams=[TEAM], groups=[Group(id="g", line_id="first", lead_ids=["glead"])])
    mine, nobodys, absent = new_id(), new_id(), new_id()
    reminder = {tid: ev(sla.DeadlineReminder(deadline=NOW + timedelta(hours=1), remaining_seconds=3600.0), tid)
                for tid in (mine, nobodys, absent)}
    client = mongo_client(s)
    views = database(client, s)[NOTIFY_TICKETS]
    async with publisher(s) as bus, notify_running(s) as api, Tap(s, NOTIFY_EVENTS) as outcomes:
        await publish(bus, TICKETS_EVENTS,
                      ev(opened(1), mine), ev(t.TicketAssigned(agent_id="ivan", mode="claim"), mine),
                      ev(opened(2), nobodys),
                      ev(opened(3), absent), ev(t.TicketAssigned(agent_id="vera", mode="claim"), absent))
        # sla reacts to the ledger's events, so its reminder never precedes notify's view of the ticket
        for tid, assignee in ((mine, "ivan"), (nobodys, None), (absent, "vera")):
            await eventually(lambda tid=tid, a=assignee: views.find_one({"_id": tid, "assignee_id": a}),
                             message=f"notify's view of {tid}")
        await publish(bus, SLA_EVENTS, reminder[mine], reminder[nobodys], reminder[absent],
                      reminder[mine])  # the broker redelivers; it must not mean a second e-mail
        await eventually(lambda: len(_reminders_sent(outcomes)) >= 3, message="three reminders sent")
        await asyncio.sleep(1.0)  # room for a wrong extra delivery to show up
        feeds = {u: (await api.get("/api/v1/inbox", params={"user": u})).json()["items"]
                 for u in ("ivan", "vera", "lead", "glead")}
    await client.close()

    deadline_mail = [m for m in smtp.sink.messages if DEADLINE_SUBJECT in m["Subject"]]
    got = sorted((m["To"], m["X-Frontline-Ticket"]) for m in deadline_mail)
    assert got == sorted([("ivan@staff.test", mine),  # the assignee, exactly once despite the redelivery
                          ("lead@staff.test", nobodys),  # nobody assigned: the service team's lead, not glead
                          ("lead@staff.test", absent)])  # vera is off shift: her lead takes the push
    [to_ivan] = smtp.sink.to("ivan@staff.test")
    assert to_ivan["Subject"] == "[#1] До срока клиента 1 ч" and to_ivan["Auto-Submitted"] == "auto-generated"
    assert "осталось 1 ч." in text_of(to_ivan) and "Исполнитель" not in text_of(to_ivan)
    covering = next(m for m in deadline_mail if m["X-Frontline-Ticket"] == absent)
    assert "Исполнитель: Vera." in text_of(covering)
    assert smtp.sink.to("vera@staff.test") == [] and smtp.sink.to("glead@staff.test") == []
    assert sorted((e.ticket_id, e.payload["recipient"]) for e in _reminders_sent(outcomes)) == sorted(
        [(mine, "ivan"), (nobodys, "lead"), (absent, "lead")])  # the outcomes the ledger records

    def reminders(user: str) -> list[tuple[str, str | None]]:
        return sorted((i["ticket_id"], i["reason"]) for i in feeds[user] if i["template"] == "deadline_reminder")

    assert reminders("ivan") == [(mine, "assignee")]  # and the in-app feed entry, once
    assert reminders("vera") == [(absent, "assignee")]  # off shift: the feed keeps it for her return
    assert reminders("lead") == sorted([(nobodys, "team_lead"), (absent, "covering:vera")])
    assert reminders("glead") == []


def _reminders_sent(outcomes: Tap) -> list[Envelope]:
    return [e for e in outcomes.of(type="NotificationSent") if e.payload["template"] == "deadline_reminder"]
