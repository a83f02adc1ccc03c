"""Issue 10, scenario 3: an SLA on a 9–18 weekday calendar, across a weekend, paused while waiting for the client.

Another system publishes the request on ``inbound.messages`` late on Friday. The client's contract has a
policy on the office calendar (Europe/Moscow, Monday–Friday 09:00–18:00): 1 h to the first response, 4 h to
resolution, a warning at half. The agent answers, then puts the ticket on hold waiting for the client over
the weekend and resumes on Monday: the due time moves by exactly the paused business time. Then the
warning, the breach and three ladder steps fire, in order, each exactly once, at their due times (each
one's mail arrives once). Time moves with the shared file clock; nothing fires early.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from e2e_support import Desk, assert_each_once, at_of, desk, events, mails, smtp_env, when

from shared.contracts.envelope import Envelope
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.topics import SLA_EVENTS
from tests.support.notify_servers import SmtpServer
from tests.support.testing import Tap, eventually

MSK = 3  # Europe/Moscow is UTC+3 all year


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in March 2026 (6th = Friday, 9th = Monday), as UTC."""
    return datetime(2026, 3, day, hour - MSK, minute, tzinfo=UTC)


HOUR = 3600.0
RESOLUTION = 4 * HOUR
CLIENT = "greta@globex.example"
LADDER = [
    {"step": 1, "start": "breached", "after_seconds": 0, "condition": "unresolved", "action": "notify",
     "roles": ["head_of_division"], "reason": "resolution target breached"},
    {"step": 2, "start": "breached", "after_seconds": HOUR, "condition": "unresolved", "action": "add_participant",
     "roles": ["head_of_service"], "set_flag": "escalated", "reason": "an hour past the breach"},
    {"step": 3, "start": "breached", "after_seconds": 24 * HOUR, "condition": "unresolved", "action": "notify",
     "roles": ["technical_director"], "reason": "a day past the breach"},
]
DIRECTORIES: dict[str, list[dict[str, Any]]] = {
    "lines": [{"id": "first", "order": 1}],
    "agents": [{"id": aid, "name": aid.title(), "email": f"{aid}@desk.test", "language": "en", **extra}
               for aid, extra in (("sam", {"line_ids": ["first"]}), ("dora", {"roles": ["head_of_division"]}),
                                  ("helen", {"roles": ["head_of_service"]}),
                                  ("tom", {"roles": ["technical_director"]}))],
    "clients": [{"id": "globex", "name": "Globex"}],
    "contracts": [{"number": "K-7", "client_id": "globex"}],
    "contacts": [{"id": "greta", "client_id": "globex", "emails": [CLIENT], "contract_number": "K-7"}],
    "business-calendars": [{"id": "office", "timezone": "Europe/Moscow",
                            "hours": [{"weekday": wd, "start": "09:00", "end": "18:00"} for wd in range(5)]}],
    "escalation-ladders": [{"id": "office-ladder", "steps": LADDER}],
    "sla-policies": [{"id": "office-hours", "contract_ids": ["K-7"], "calendar_id": "office",
                      "ladder_id": "office-ladder", "warning_share": 0.5,
                      "targets": {"first_response_seconds": HOUR, "resolution_seconds": RESOLUTION}}],
}


def close(a: datetime, b: datetime) -> bool:
    return abs(a - b) <= timedelta(milliseconds=2)  # MongoDB keeps milliseconds


def fired(tap: Tap, tid: str) -> list[Envelope]:
    """sla.events of the ticket, first record of each id (readers dedupe by id)."""
    seen: dict[str, Envelope] = {}
    for e in tap.of(tid):
        seen.setdefault(e.id, e)
    return list(seen.values())


def label(e: Envelope) -> str:
    return f"step {e.payload['step']}" if e.type == "EscalationStepFired" else f"{e.type} {e.payload['target']}"


async def quiet(tap: Tap, tid: str, count: int, seconds: float = 1.0) -> None:
    """Nothing new on sla.events for a while (the SLA timers tick every 100 ms)."""
    await asyncio.sleep(seconds)
    assert len(fired(tap, tid)) == count, [label(e) for e in fired(tap, tid)]


async def test_business_hours_weekend_pause_and_ladder(env: dict[str, str], tmp_path: Path,
                                                       smtp: SmtpServer) -> None:
    extra = {**smtp_env(smtp.port), "ROUTING_CLAIM_TIMEOUT_SECONDS": "600"}
    async with desk(env, tmp_path, msk(6, 16, 58), extra) as d, Tap(d.settings, SLA_EVENTS) as tap:
        await d.seed(DIRECTORIES)

        # Friday 17:00: a request from another system; the agent answers at once
        d.jump(msk(6, 17))
        await d.publish_inbound(InboundMessage(channel="web", external_id="crm-4711", source_system="crm",
                                               sender={"email": CLIENT}, subject="Reports are empty",
                                               text="Since this afternoon every report comes out empty."))
        tid = (await d.first_ticket("the request opened a ticket", channel="web"))["id"]
        await d.until(tid, lambda t: t["status"] == "offered", "offered")
        await d.act("sam", tid, "claim")
        await d.act("sam", tid, "start")
        await d.act("sam", tid, "reply", {"text": "We are looking into it."})
        doc = await sla_of(d, tid, lambda s: s["targets"]["first_response"].get("met_at"))
        opened = at_of(events(doc, "TicketOpened")[0])
        sla = doc["sla"]
        assert sla["policy_id"] == "office-hours" and sla["calendar_id"] == "office"
        assert sla["targets"]["first_response"]["met"] is True
        # only business time counts: 1 h on Friday, the rest from Monday 09:00
        original_due = msk(9, 12) + (opened - msk(6, 17))
        assert close(when(sla["targets"]["resolution"]["due_at"]), original_due), sla["targets"]["resolution"]

        # Friday 17:30: waiting for the client's export; the resolution clock stops
        d.jump(msk(6, 17, 30))
        await d.act("sam", tid, "hold", {"reason": "waiting for the client's export file"})
        doc = await sla_of(d, tid, lambda s: s["paused"])
        held = at_of(events(doc, "TicketPutOnHold")[0])
        used = (held - opened).total_seconds()
        assert doc["status"] == "waiting_customer" and doc["sla"]["targets"]["resolution"]["running"] is False
        assert abs(doc["sla"]["targets"]["resolution"]["business_seconds_used"] - used) < 0.002

        # Monday 10:00 (past the original warning): the weekend fired nothing; the agent resumes
        d.jump(msk(9, 10))
        await quiet(tap, tid, 0)
        await d.act("sam", tid, "resume", {"reason": "the client sent the file"})
        doc = await sla_of(d, tid, lambda s: not s["paused"])
        resumed = at_of(events(doc, "TicketResumed")[0])
        res = doc["sla"]["targets"]["resolution"]
        due, warn = when(res["due_at"]), when(res["warn_at"])
        paused_business = (msk(6, 18) - held) + (resumed - msk(9, 9))  # the weekend is not business time
        assert close(due, resumed + timedelta(seconds=RESOLUTION - used))
        assert close(due - original_due, paused_business), (due, original_due, paused_business)
        assert close(warn, resumed + timedelta(seconds=RESOLUTION / 2 - used))

        # the warning at half the target, not a minute early
        d.jump(warn - timedelta(minutes=1))
        await quiet(tap, tid, 0)
        d.jump(warn + timedelta(seconds=1))
        await wait_fired(tap, tid, 1)
        # the breach at the due time, with ladder step 1 (breach + 0) right after it; step 2 waits an hour
        d.jump(due - timedelta(minutes=1))
        await quiet(tap, tid, 1)
        d.jump(due + timedelta(seconds=1))
        await wait_fired(tap, tid, 3)
        await quiet(tap, tid, 3)
        doc = await d.until(tid, lambda t: t["flags"].get("sla_breached"), "flagged as breached")
        assert not doc["participants"] and tid in await d.queue("overdue")
        # an hour later the head of customer service joins; a day later the technical director hears of it
        d.jump(due + timedelta(hours=1, seconds=1))
        await wait_fired(tap, tid, 4)
        doc = await d.until(tid, lambda t: t["participants"] and t["flags"].get("escalated"), "step 2 applied")
        assert doc["participants"] == [{"user_id": "helen", "role": "head_of_service"}]
        d.jump(due + timedelta(hours=24, seconds=1))
        await wait_fired(tap, tid, 5)
        await quiet(tap, tid, 5, 2.0)

        # in order, each once, at its due time
        got = fired(tap, tid)
        assert [label(e) for e in got] == ["SlaWarning resolution", "SlaBreached resolution",
                                           "step 1", "step 2", "step 3"]
        at = [e.occurred_at for e in got]
        for actual, expected in zip(at, [warn, due, due, due + timedelta(hours=1), due + timedelta(hours=24)],
                                    strict=True):
            assert close(actual, expected), (actual, expected)
        assert [e.payload["user_ids"] for e in got[2:]] == [["dora"], ["helen"], ["tom"]]
        assert all(close(when(e.payload["due_at"]), due) for e in got[:2])
        doc = await d.ticket(tid)
        res = doc["sla"]["targets"]["resolution"]
        assert res["warned"] and res["breached"] and doc["status"] == "in_progress"

        # each notice reached the SMTP server once
        expected = sorted([(CLIENT, "Your request is being worked on"), (CLIENT, "Re: Reports are empty"),
                           ("sam@desk.test", "Deadline approaching: resolution"),
                           ("sam@desk.test", "SLA breached: resolution"), ("dora@desk.test", "Escalation, step 1"),
                           ("helen@desk.test", "Escalation, step 2"), ("tom@desk.test", "Escalation, step 3")])
        await eventually(lambda: len(smtp.sink.messages) >= len(expected), 30, interval=0.2,
                         message=f"{len(expected)} mails (got {mails(smtp.sink.messages)})")
        await asyncio.sleep(1.5)
        assert mails(smtp.sink.messages) == expected
        assert_each_once(smtp.sink.messages)


async def sla_of(d: Desk, tid: str, check: Any) -> dict[str, Any]:
    """The ticket once its SLA clock (read through the gateway) satisfies ``check``."""
    return await d.until(tid, lambda t: t.get("sla") and check(t["sla"]), "SLA clock updated")


async def wait_fired(tap: Tap, tid: str, count: int) -> None:
    await eventually(lambda: len(fired(tap, tid)) >= count, 30, interval=0.1,
                     message=f"{count} distinct sla.events (got {[label(e) for e in fired(tap, tid)]})")
