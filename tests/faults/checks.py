"""What must hold after a fault run (tests/faults/desk.py), and waiting until the run got there."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.database import AsyncDatabase

from tests.support.notify_servers import SmtpServer

if TYPE_CHECKING:
    from .desk import Plan
    from .watch import SlaSeen

SLA_STEPS = frozenset({"SlaWarning:first_response", "SlaWarning:resolution", "SlaBreached:first_response",
                       "SlaBreached:resolution", "EscalationStepFired:1"})
FULL_MAILS = frozenset({"ticket_taken", "escalation", "ticket_resolved", "survey"})
LIGHT_MAILS = frozenset({"ticket_taken"})
ROUTED = ("TicketOpened", "MessageReceived", "TicketOffered", "TicketAssigned")


def final_status(full: bool) -> str:
    """Where the run leaves a ticket: full-path (acme) ones completed, the others assigned."""
    return "completed" if full else "assigned"


async def _mine(db: AsyncDatabase, plan: Plan, query: dict[str, Any] | None = None,
                projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The plan's tickets matching ``query``, picked by sender here rather than by ``sender.email: {$in: ...}``:
    the embedded database matches a large $in against every ticket (5,000 × 5,000 comparisons per poll), which
    starved the services it was meant to watch."""
    senders = set(plan.senders)
    fields = {**({} if projection and "sender" in projection else {"sender.email": 1}), **(projection or {})}
    return [d async for d in db.tickets.find(query or {}, fields) if d["sender"]["email"] in senders]


async def unsettled(db: AsyncDatabase, smtp: SmtpServer, plan: Plan) -> str | None:
    """What is still missing before the plan's tickets are where the run leaves them, their mails sent and
    recorded on them (None: nothing). Cheapest question first: each later one reads more."""
    docs = await _mine(db, plan, projection={"status": 1, "client.client_id": 1})
    full = sum(1 for d in docs if (d.get("client") or {}).get("client_id") == "acme" and d["status"] == "completed")
    light = sum(1 for d in docs if not d.get("client") and d["status"] == "assigned")
    if full < plan.full_count or light < plan.n - plan.full_count:
        return f"tickets {dict(Counter(d['status'] for d in docs))} of {plan.n}"
    ids = {d["_id"] for d in docs}
    published = len([x async for x in db.notify_deliveries.find({"status": "sent", "outcome_published": True},
                                                                 {"ticket_id": 1}) if x["ticket_id"] in ids])
    if published < plan.mails:
        return f"deliveries sent and published {published} of {plan.mails}"
    recorded = len(await _mine(db, plan, {"history.type": "NotificationRecorded"}))
    if recorded < plan.n:
        return f"{recorded} of {plan.n} tickets with a NotificationRecorded"
    keys = {x["_id"] async for x in db.notify_deliveries.find({}, {"ticket_id": 1}) if x["ticket_id"] in ids}
    mails = len(keys & {m["X-Frontline-Notification"] for m in list(smtp.sink.messages)})
    return None if mails >= plan.mails else f"{mails} of {plan.mails} mails received"


async def diagnose(db: AsyncDatabase, sla: SlaSeen) -> str:
    """Where the unfinished tickets are stuck (for failure messages)."""
    seen = sla.update()
    stuck = [d["_id"] async for d in db.tickets.find({"client.client_id": "acme", "status": {"$ne": "completed"}},
                                                     {"_id": 1})]
    kinds = Counter(tuple(sorted(set(seen.get(tid, {}).values()))) for tid in stuck)
    due = await db.sla_timers.count_documents({"fired": False, "due_at": {"$lte": datetime.now(UTC)}})
    return f"{len(stuck)} acme tickets unfinished; their SLA steps {dict(kinds)}; sla timers due {due}"


async def tickets_of(db: AsyncDatabase, plan: Plan | None = None) -> list[dict[str, Any]]:
    fields = {"history": 1, "sender": 1, "number": 1, "version": 1, "status": 1, "client": 1}
    return await _mine(db, plan, projection=fields) if plan else [d async for d in db.tickets.find({}, fields)]


async def deliveries_of(db: AsyncDatabase) -> list[dict[str, Any]]:
    return [x async for x in db.notify_deliveries.find({}, {"ticket_id": 1, "template": 1, "status": 1,
                                                            "attempts": 1, "address": 1})]


async def check_no_duplicates(db: AsyncDatabase, smtp: SmtpServer, sla: SlaSeen) -> list[dict[str, Any]]:
    """Whatever else happened: no ticket twice, no event twice, no notice planned or fired twice, and the
    SMTP server received each notification once (see below). Returns every ticket document."""
    docs = await tickets_of(db)
    assert set(Counter(d["sender"]["email"] for d in docs).values()) <= {1}, "a message became two tickets"
    assert len({d["number"] for d in docs}) == len(docs), "ticket numbers are unique"
    for d in docs:
        ids = [h["id"] for h in d["history"]]
        assert len(ids) == len(set(ids)) == d["version"], f"{d['_id']}: an event recorded twice"
        recorded = Counter(h["payload"]["notification_id"] for h in d["history"] if h["type"] == "NotificationRecorded")
        assert set(recorded.values()) <= {1}, (d["_id"], recorded)
    for tid, kinds in sla.update().items():
        assert set(Counter(kinds.values()).values()) <= {1}, f"{tid}: an SLA step fired twice: {kinds}"
    deliveries = await deliveries_of(db)
    assert set(Counter((x["ticket_id"], x["template"]) for x in deliveries).values()) <= {1}, "a notice twice"
    received: dict[str, list[Any]] = {}
    for m in list(smtp.sink.messages):
        received.setdefault(m["X-Frontline-Notification"], []).append(m)
    by_id = {x["_id"]: x for x in deliveries}
    assert set(received) <= set(by_id), "the SMTP server got mail nobody recorded"
    for key, got in received.items():  # keyed by X-Frontline-Notification: the delivery id, also in Message-ID
        assert {m["Message-ID"] for m in got} == {got[0]["Message-ID"]}
        assert {a for m in got for a in m["X-Envelope-To"].split(",")} == {by_id[key]["address"]}
        # SMTP is at-least-once: a second copy only of a send that a killed notify could not record (its
        # lease expired and the retry went out with the same Message-ID, which the reader's client drops).
        assert len(got) == 1 or by_id[key]["attempts"] >= 2, (key, len(got), by_id[key])
    return docs


async def check_plan(db: AsyncDatabase, smtp: SmtpServer, sla: SlaSeen, plan: Plan) -> None:
    """The plan's tickets went the whole way: each once, with exactly its events, SLA steps and mails."""
    docs = await tickets_of(db, plan)
    assert sorted(d["sender"]["email"] for d in docs) == sorted(plan.senders), "every message became one ticket"
    mine = {d["_id"] for d in docs}
    mails: dict[str, Counter[str]] = {}
    for x in await deliveries_of(db):
        if x["ticket_id"] in mine:
            assert x["status"] == "sent", x
            mails.setdefault(x["ticket_id"], Counter())[x["template"]] += 1
    received = {m["X-Frontline-Notification"] for m in list(smtp.sink.messages)}
    seen = sla.update()
    for d in docs:
        full, tid, history = bool(d["client"]), d["_id"], d["history"]
        types = Counter(h["type"] for h in history)
        once = ROUTED + (("TicketResolved", "TicketCompleted") if full else ())
        assert all(types[t] == 1 for t in once), f"{tid}: {types}"
        assert d["status"] == final_status(full), (tid, d["status"])
        flags = [(h["payload"]["flag"], h["payload"]["value"]) for h in history if h["type"] == "FlagChanged"]
        assert [f for f, _ in flags if f != "sla_at_risk"] == (["sla_breached"] if full else []), (tid, flags)
        # the first warning raised "at risk", the breach lowered it; the later warning leaves a breached ticket be
        assert [v for f, v in flags if f == "sla_at_risk"] == ([True, False] if full else []), (tid, flags)
        want = FULL_MAILS if full else LIGHT_MAILS
        recorded = {h["payload"]["notification_id"] for h in history if h["type"] == "NotificationRecorded"}
        assert len(recorded) == len(want) and recorded <= received, (tid, recorded)
        assert mails.get(tid) == Counter(want), (tid, mails.get(tid))
        assert set(seen.get(tid, {}).values()) == (SLA_STEPS if full else set()), f"{tid}: SLA {seen.get(tid)}"


async def verify(db: AsyncDatabase, smtp: SmtpServer, sla: SlaSeen, plan: Plan) -> None:
    """The whole run: exactly the plan's tickets, every one the whole way, nothing twice, nothing refused,
    nothing due left unfired, and the SMTP server got exactly the recorded notifications."""
    docs = await check_no_duplicates(db, smtp, sla)
    assert len(docs) == plan.n
    await check_plan(db, smtp, sla, plan)
    assert await db.ledger_commands.count_documents({"events.type": "CommandRejected"}) == 0, "no refusals"
    assert await db.sla_timers.count_documents({"fired": False, "due_at": {"$lte": datetime.now(UTC)}}) == 0
    deliveries = await deliveries_of(db)
    assert len(deliveries) == plan.mails and {x["status"] for x in deliveries} == {"sent"}
    assert {m["X-Frontline-Notification"] for m in list(smtp.sink.messages)} == {x["_id"] for x in deliveries}
    assert await db.feedback_surveys.count_documents({}) == plan.full_count
