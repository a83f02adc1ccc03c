"""Off-hours tickets, nobody available, and lost tickets, on the real broker and database with the real ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing_support import client_message, desk

from shared.contracts.schemas import tickets as t
from shared.directory.routing import Agent, Availability, Role, ServiceTeam, Shift, TeamMember
from shared.runtime.clock import ManualClock

MSK = "Europe/Moscow"
WORKDAYS = [Shift(weekday=d, start="09:00", end="18:00") for d in range(5)]
NIGHTS = [Shift(weekday=d, start="22:00", end="06:00") for d in range(7)]
MONDAY_2330_MSK = datetime(2026, 1, 5, 20, 30, tzinfo=UTC)
MONDAY_1100_MSK = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def staff() -> list[object]:
    return [
        Agent(id="ann", name="Ann", line_ids=["first"], timezone=MSK, shifts=WORKDAYS),
        Agent(id="bob", name="Bob", line_ids=["first"], timezone=MSK, shifts=WORKDAYS),
        Agent(id="nina", name="Nina", timezone=MSK, shifts=NIGHTS),  # acme's night-shift specialist
        Agent(id="leo", name="Leo", roles=[Role.team_lead]),  # acme's lead, no schedule: always on
        Agent(id="sam", name="Sam", timezone=MSK, shifts=NIGHTS, availability=Availability.sick),
        Agent(id="lea", name="Lea", roles=[Role.team_lead]),
        Agent(id="ola", name="Ola", roles=[Role.team_lead], availability=Availability.vacation),
        Agent(id="gil", name="Gil", line_ids=["first"], timezone=MSK, shifts=WORKDAYS),  # gamma's day specialist
        ServiceTeam(id="acme", name="Acme", members=[TeamMember(agent_id="nina", night_shift=True),
                                                     TeamMember(agent_id="leo", role=Role.team_lead),
                                                     TeamMember(agent_id="ann"), TeamMember(agent_id="bob")]),
        ServiceTeam(id="beta", name="Beta", members=[TeamMember(agent_id="sam", night_shift=True),
                                                     TeamMember(agent_id="lea", role=Role.team_lead)]),
        ServiceTeam(id="gamma", name="Gamma", members=[TeamMember(agent_id="ola", role=Role.team_lead),
                                                       TeamMember(agent_id="gil")]),
    ]


async def test_off_hours_ticket_goes_to_the_night_shift_then_the_lead_then_waits_for_the_morning(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_2330_MSK)
    async with desk(env, clock, retry_seconds=60) as d:
        await d.put(*staff())  # type: ignore[arg-type]
        await d.open("T-night", team="acme")
        await d.open("T-lead", team="beta")
        await d.open("T-none", team="gamma")

        night = (await d.wait("T-night", "TicketAssigned"))[0].payload
        assert night["agent_id"] == "nina" and night["mode"] == "night_shift"
        await d.wait("T-night", "FlagChanged")
        assert (await d.settled("T-night", lambda doc: doc["flags"].get("night_shift"), "night_shift flag"))[
            "assignee_id"] == "nina"
        nobody = (await d.wait_alert("T-night", "NobodyAvailable"))[0].payload
        assert nobody == {"line": "first", "group_id": None, "fallback": "night_shift", "agent_id": "nina"}
        alert = (await d.wait_alert("T-night", "LeadAlerted"))[0].payload
        assert alert["reason"] == "auto_assigned_to_night_shift" and alert["lead_ids"] == ["leo"]
        assert alert["service_team_id"] == "acme"

        lead = (await d.wait("T-lead", "TicketAssigned"))[0].payload
        assert lead["agent_id"] == "lea" and lead["mode"] == "team_lead"  # Sam, the night shift, is sick
        assert (await d.wait_alert("T-lead", "NobodyAvailable"))[0].payload["fallback"] == "team_lead"

        # Gamma has nobody at all tonight: leads are alerted, the ticket is marked, and it waits.
        none = (await d.wait_alert("T-none", "NobodyAvailable"))[0].payload
        assert none["fallback"] == "none" and none["agent_id"] is None
        assert (await d.wait_alert("T-none", "LeadAlerted"))[0].payload["reason"] == "nobody_available"
        await d.settled("T-none", lambda doc: doc["flags"].get("nobody_available"), "nobody_available flag")
        assert not d.events.of("T-none", "TicketAssigned") and not d.events.of("T-none", "TicketOffered")

        # Morning: routing tries again and offers it to gamma's day specialist (never to acme's Ann and Bob).
        clock.set(datetime(2026, 1, 6, 6, 30, tzinfo=UTC))  # Tuesday 09:30 Moscow
        offered = (await d.wait("T-none", "TicketOffered"))[0].payload
        assert offered["agent_ids"] == ["gil"] and offered["reason"] == "retry"
        assert len({e.id for e in d.alerts.of("T-none", "LeadAlerted")}) == 1  # retries do not alert again


async def test_message_into_a_ticket_whose_assignee_is_on_vacation_alerts_the_lead_and_reoffers(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_1100_MSK)
    async with desk(env, clock) as d:
        await d.put(*staff())  # type: ignore[arg-type]
        await d.open("T-lost", team="acme")
        await d.wait("T-lost", "TicketOffered")
        await d.send("T-lost", t.ClaimTicket(agent_id="ann"))
        await d.wait("T-lost", "TicketAssigned")
        await d.send("T-lost", client_message(1, clock.now()))  # Ann is here: nothing happens
        await d.wait("T-lost", "MessageReceived")
        # routing must have judged that message before Ann leaves, or it would rightly find her away
        await d.caught_up()

        await d.put(Agent(id="ann", name="Ann", line_ids=["first"], timezone=MSK, shifts=WORKDAYS,
                          availability=Availability.vacation))
        clock.advance(timedelta(hours=1))
        await d.send("T-lost", client_message(2, clock.now()))
        alert = (await d.wait_alert("T-lost", "LeadAlerted"))[0].payload
        assert alert["reason"] == "assignee_unavailable" and alert["assignee_id"] == "ann"
        assert alert["lead_ids"] == ["leo"] and alert["service_team_id"] == "acme"
        reoffer = (await d.wait("T-lost", "TicketOffered", count=2))[-1].payload
        assert reoffer["agent_ids"] == ["bob"] and reoffer["reason"] == "assignee_unavailable"
        doc = await d.settled("T-lost", lambda doc: doc["flags"].get("lost") and doc["status"] == "offered",
                              "lost and offered again")
        assert doc["assignee_id"] is None and doc["previous_assignee_id"] == "ann"
        alerts = d.alerts.of("T-lost", "LeadAlerted")
        # the first message (Ann present) raised nothing; a redelivered event repeats its alert's id, never a new one
        assert len({e.id for e in alerts}) == 1, [e.causation_id for e in alerts]
        await d.send("T-lost", t.ClaimTicket(agent_id="bob"))
        assert (await d.wait("T-lost", "TicketAssigned", count=2))[-1].payload["agent_id"] == "bob"
        await d.settled("T-lost", lambda doc: doc["flags"]["lost"] is False, "lost flag cleared once Bob has it")
