"""Warning → breach → each ladder step, in order and exactly once, on the real broker and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sla_support import command, kinds, open_ticket, seed_people, seed_sla

from services.sla.app import create_app as sla_app
from services.sla.calendar import Calendar
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import SLA_EVENTS, TICKETS_EVENTS
from shared.directory.sla import BusinessCalendar, SlaPolicy, Targets, WorkingHours
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, eventually, make_settings, running

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0


async def test_warning_breach_and_every_ladder_step_fire_once_in_order(env: dict[str, str]) -> None:
    clock = ManualClock(T0)
    settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_people(db)
    await seed_sla(db, SlaPolicy(id="default", targets=Targets(first_response_seconds=HOUR,
                                                                resolution_seconds=2 * HOUR)))
    bus = KafkaBus(settings, "test")
    ledger, sla = tickets_app(make_settings(TicketsSettings, env), clock), sla_app(settings, clock)
    async with running(ledger), running(sla), Tap(settings, SLA_EVENTS) as sla_tap, \
            Tap(settings, TICKETS_EVENTS) as ledger_tap:
        await bus.start()
        await command(bus, "T-1", open_ticket(), clock.now())
        await command(bus, "T-1", t.AssignTicket(agent_id="a1", mode="auto"), clock.now())
        clocks = db["sla_clocks"]
        await eventually(lambda: clocks.find_one({"_id": "T-1", "status": "assigned"}), message="clock assigned")

        async def at(offset: timedelta, type_: str, count: int = 1) -> None:
            clock.set(T0 + offset)
            await sla_tap.wait("T-1", type_, count=count)

        await at(timedelta(minutes=15, seconds=1), "EscalationStepFired")
        await ledger_tap.wait("T-1", "ParticipantAdded")
        await at(timedelta(minutes=48, seconds=1), "SlaWarning")
        await at(timedelta(minutes=60, seconds=1), "SlaBreached")
        await sla_tap.wait("T-1", "EscalationStepFired", count=2)
        await at(timedelta(minutes=96, seconds=1), "SlaWarning", 2)
        await at(timedelta(minutes=120, seconds=1), "SlaBreached", 2)
        await at(timedelta(hours=25, seconds=1), "EscalationStepFired", 3)
        await at(timedelta(hours=73, seconds=1), "EscalationStepFired", 4)
        clock.set(T0 + timedelta(days=30))
        await asyncio.sleep(1.0)  # nothing else is due: give a stray re-fire the chance to show

        sla_events = sla_tap.of("T-1")
        order = [(e.type, e.payload.get("target") or e.payload.get("step")) for e in sla_events]
        assert order == [("EscalationStepFired", 1), ("SlaWarning", "first_response"),
                         ("SlaBreached", "first_response"), ("EscalationStepFired", 2),
                         ("SlaWarning", "resolution"), ("SlaBreached", "resolution"),
                         ("EscalationStepFired", 3), ("EscalationStepFired", 4)]
        steps = {e.payload["step"]: e.payload for e in sla_events if e.type == "EscalationStepFired"}
        assert steps[1]["user_ids"] == ["boss"] and steps[1]["action"] == "add_participant"
        assert steps[2]["user_ids"] == ["lead1"] and steps[3]["user_ids"] == ["div"]
        assert steps[4]["user_ids"] == ["cto"]
        ledger_counts = kinds(ledger_tap.of("T-1"))
        assert ledger_counts["participant:boss:head_of_service"] == 1
        assert ledger_counts["flag:long_ignored"] == 1 and ledger_counts["flag:sla_breached"] == 1
        assert ledger_counts["CommandRejected"] == 0
        record = await clocks.find_one({"_id": "T-1"})
        fr = record["targets"]["first_response"]
        assert fr["breached"] is True and fr["met"] is None
        assert fr["due_at"].replace(tzinfo=UTC) == T0 + timedelta(hours=1)
        assert record["policy_id"] == "default" and record["calendar_id"] == "24x7"
        await bus.stop()
    await client.close()


BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


async def test_pause_shifts_due_by_paused_business_time_and_friday_1755_is_due_monday_0955(
        env: dict[str, str]) -> None:
    friday = berlin(2026, 3, 6, 17, 55)
    clock = ManualClock(friday)
    settings = make_settings(SlaSettings, env, directory_cache_seconds=0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed_people(db)
    entry = BusinessCalendar(id="office", timezone="Europe/Berlin",
                             hours=[WorkingHours(weekday=d, start="09:00", end="18:00") for d in range(5)])
    await seed_sla(db, SlaPolicy(id="default", calendar_id="office",
                                 targets=Targets(first_response_seconds=HOUR, resolution_seconds=8 * HOUR)), entry)
    cal = Calendar.from_entry(entry)
    bus = KafkaBus(settings, "test")
    ledger, sla = tickets_app(make_settings(TicketsSettings, env), clock), sla_app(settings, clock)
    clocks = db["sla_clocks"]

    async def target(name: str, **match: object) -> dict[str, object]:
        query = {"_id": "T-2", **{f"targets.{name}.{k}": v for k, v in match.items()}}
        doc = await eventually(lambda: clocks.find_one(query), message=f"{name} {match}")
        return doc["targets"][name]  # type: ignore[no-any-return]

    async with running(ledger), running(sla), Tap(settings, SLA_EVENTS) as sla_tap:
        await bus.start()
        await command(bus, "T-2", open_ticket(), clock.now())
        fr = await target("first_response", epoch=0)
        assert fr["due_at"].astimezone(BERLIN) == datetime(2026, 3, 9, 9, 55, tzinfo=BERLIN)  # type: ignore[union-attr]
        res = await target("resolution", epoch=0)
        old_due = res["due_at"].astimezone(UTC)  # type: ignore[union-attr]
        assert old_due == berlin(2026, 3, 9, 16, 55)
        clock.set(berlin(2026, 3, 9, 9, 30))
        await command(bus, "T-2", t.AssignTicket(agent_id="a1", mode="auto"), clock.now())
        await command(bus, "T-2", t.ReplyToClient(agent_id="a1", text="on it"), clock.now())
        await target("first_response", met=True)
        clock.set(berlin(2026, 3, 9, 10, 0))
        await command(bus, "T-2", t.PutOnHold(reason="need the booking number"), clock.now())
        await eventually(lambda: clocks.find_one({"_id": "T-2", "paused": True}), message="paused")
        clock.set(berlin(2026, 3, 9, 17, 30))  # past the old due time while paused: no breach
        await asyncio.sleep(0.8)
        assert not sla_tap.of("T-2", "SlaBreached")
        paused_from, resumed_at = berlin(2026, 3, 9, 10, 0), berlin(2026, 3, 10, 10, 0)
        clock.set(resumed_at)
        await command(bus, "T-2", t.ResumeWork(reason="client answered"), clock.now())
        res = await target("resolution", epoch=2)
        new_due = res["due_at"].astimezone(UTC)  # type: ignore[union-attr]
        assert new_due == berlin(2026, 3, 10, 16, 55)
        assert cal.between(old_due, new_due) == cal.between(paused_from, resumed_at) == timedelta(hours=9)
        clock.set(berlin(2026, 3, 10, 16, 54))
        await asyncio.sleep(0.6)
        assert not sla_tap.of("T-2", "SlaBreached")
        clock.set(berlin(2026, 3, 10, 16, 56))
        breach = (await sla_tap.wait("T-2", "SlaBreached"))[0]
        assert breach.payload["target"] == "resolution"
        assert datetime.fromisoformat(breach.payload["due_at"]) == new_due
        assert [e.payload["target"] for e in sla_tap.of("T-2", "SlaWarning")] == ["resolution"]
        await bus.stop()
    await client.close()
