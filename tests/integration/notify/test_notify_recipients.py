"""Recipient rules end to end: events on the real broker → exactly the right people get mail and feed items."""

from __future__ import annotations

from notify_support import NOW, ev, notify_running, notify_settings, publish, publisher, seed

from shared.contracts.schemas import feedback as fb
from shared.contracts.schemas import routing as rt
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Classification, ClientRef, InboundContent, Sender
from shared.contracts.topics import FEEDBACK_EVENTS, ROUTING_EVENTS, SLA_EVENTS, TICKETS_EVENTS
from shared.directory.notify import NotifyPreference
from shared.directory.routing import Agent, Availability, Group, Role, ServiceNode, ServiceTeam, TeamMember
from shared.runtime.ids import new_id
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually


def agent(aid: str, **kw: object) -> Agent:
    return Agent(id=aid, name=aid.title(), email=f"{aid}@staff.test", **kw)  # type: ignore[arg-type]


AGENTS = [
    agent("lead1", roles=[Role.team_lead]), agent("admin1", availability=Availability.off_shift),
    agent("spec_air", availability=Availability.vacation), agent("spec_rail"), agent("lead_rail"),
    agent("lead2"), agent("a2"), agent("a3"), agent("lead3"), agent("r3"),
    agent("h1", subscriptions=["hotel"]), agent("h2"), agent("head1", roles=[Role.head_of_division]),
    agent("glead"),
]
TEAMS = [
    ServiceTeam(id="T1", name="Acme team", members=[
        TeamMember(agent_id="lead1", service_types=["air", "rail"], role=Role.team_lead),
        TeamMember(agent_id="admin1", service_types=["air"], role=Role.administrator),
        TeamMember(agent_id="spec_air", service_types=["air"]),
        TeamMember(agent_id="spec_rail", service_types=["rail"]),
        TeamMember(agent_id="lead_rail", service_types=["rail"], role=Role.team_lead)]),
    ServiceTeam(id="T2", name="Whole team", notify_whole_team=True, members=[
        TeamMember(agent_id="lead2", service_types=["air"], role=Role.team_lead),
        TeamMember(agent_id="a2", service_types=["air"]), TeamMember(agent_id="a3", service_types=["rail"]),
        TeamMember(agent_id="h2", service_types=["hotel_desk"])]),
    ServiceTeam(id="T3", name="Rail only", members=[
        TeamMember(agent_id="lead3", service_types=["rail"], role=Role.team_lead),
        TeamMember(agent_id="r3", service_types=["rail"])]),
    ServiceTeam(id="T9", name="Hotel desk", members=[TeamMember(agent_id="h2", service_types=["hotel"])]),
]
SERVICES = [ServiceNode(id="svc-air", service_type="air"), ServiceNode(id="svc-air-refund", parent_id="svc-air")]
GROUPS = [Group(id="g1", line_id="first", lead_ids=["glead"])]


def opened(team: str, classification: Classification, number: int) -> t.TicketOpened:
    return t.TicketOpened(channel=Channel.email, subject=f"Ticket {number}", number=number, text="Please help",
                          sender=Sender(email=f"client{number}@client.test", name="Client"), group_id="g1",
                          client=ClientRef(client_id=f"c{number}", service_team_id=team), classification=classification)


async def test_each_recipient_rule_picks_exactly_the_right_people(env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    await seed(s, agents=AGENTS, teams=TEAMS, groups=GROUPS, services=SERVICES,
               prefs=[NotifyPreference(id="glead", channels=["in_app"])])
    air = Classification(service_id="svc-air", sub_service_id="svc-air-refund")
    ta, tb, tc, td = (new_id() for _ in range(4))
    async with publisher(s) as bus, notify_running(s) as api:
        await publish(bus, TICKETS_EVENTS,
                      ev(opened("T1", air, 1), ta),  # default: team leads/admins subscribed to air
                      ev(opened("T1", air, 2), tb, cause="cmd-b"),
                      ev(t.TicketAssigned(agent_id="spec_air", mode="claim"), tb),
                      ev(t.MessageReceived(content=InboundContent(
                          message_id="m2", channel=Channel.email, external_id="x2", text="Any news?",
                          sender=Sender(email="client2@client.test"), received_at=NOW)), tb, cause="cmd-b2"),
                      ev(opened("T2", air, 3), tc),  # whole-team flag
                      ev(opened("T3", Classification(topic="hotel"), 4), td))  # nobody in T3 handles hotel

        def opened_mails() -> set[str]:
            return {m["X-Frontline-Ticket"] for m in smtp.sink.messages if _template(m["Subject"]) == "ticket_opened"}

        # the other services' events follow the ledger's, as they do on a desk: notify has its view of each ticket
        await eventually(lambda: opened_mails() >= {ta, tb, tc, td}, timeout=60, message="the opened tickets' mails")
        await publish(bus, SLA_EVENTS, ev(sla.EscalationStepFired(ladder_id="L", step=2, action="notify",
                                                                  user_ids=["head1"], roles=["group_lead"],
                                                                  reason="24 h"), ta))
        await publish(bus, ROUTING_EVENTS, ev(rt.LeadAlerted(lead_ids=["lead3"], reason="unclaimed"), td))
        await publish(bus, FEEDBACK_EVENTS, ev(fb.FraudAlertRaised(survey_id="s", suspected_agent_id="a2",
                                                                   lead_ids=["lead2"]), tc))
        expected_mail = {
            ("ticket_opened", ta): {"lead1"},  # admin1 is off shift: feed only, lead1 covers (already told)
            ("client_message", tb): {"lead1"},  # spec_air on vacation: feed only; lead1 gets the push
            ("ticket_opened", tb): {"lead1"},
            ("ticket_taken", tb): {"client2"},  # the client hears their ticket was taken into work
            ("ticket_opened", tc): {"lead2", "a2"},  # a3 handles rail, h2 another type: not them
            ("ticket_opened", td): {"h1", "h2"},  # agency-wide: subscribed (h1) or handling it in a team (h2)
            ("escalation", ta): {"head1"},  # glead wants in-app only
            ("lead_alert", td): {"lead3"},
            ("fraud_alert", tc): {"lead2"},
        }
        total = sum(len(v) for v in expected_mail.values())
        await eventually(lambda: len(smtp.sink.messages) >= total, timeout=20, message=f"{total} mails")
        await _settle()
        got: dict[tuple[str, str], set[str]] = {}
        for m in smtp.sink.messages:
            key = (_template(m["Subject"]), m["X-Frontline-Ticket"])
            got.setdefault(key, set()).add(m["To"].split("@")[0])
            assert m["Auto-Submitted"] == "auto-generated"
        assert got == expected_mail

        async def feed(user: str) -> set[str]:
            items = (await api.get("/api/v1/inbox", params={"user": user})).json()["items"]
            return {f"{i['template']}:{i['ticket_id']}" for i in items}

        assert await feed("admin1") == {f"ticket_opened:{ta}", f"ticket_opened:{tb}", f"client_message:{tb}"}
        assert await feed("spec_air") == {f"client_message:{tb}"}
        assert await feed("glead") == {f"escalation:{ta}"}
        assert await feed("a3") == set() and await feed("lead_rail") == set() and await feed("r3") == set()
        assert await feed("lead3") == {f"lead_alert:{td}"}


def _template(subject: str) -> str:
    for marker, name in (("New ticket", "ticket_opened"), ("Новое обращение", "ticket_opened"),
                         ("Client wrote", "client_message"), ("Сообщение клиента", "client_message"),
                         ("Эскалация", "escalation"), ("Escalation", "escalation"),
                         ("Требуется ваше внимание", "lead_alert"),
                         ("being worked on", "ticket_taken"), ("Клиент сообщает", "fraud_alert")):
        if marker in subject:
            return name
    return subject


async def _settle() -> None:
    """Give a wrong extra delivery the chance to show up before asserting on exact sets."""
    import asyncio

    await asyncio.sleep(0.5)

