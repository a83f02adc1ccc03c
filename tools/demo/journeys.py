"""Taking each demo ticket through its steps (tools/demo/tickets.py), by whoever holds it at the time.

Every step first looks at the ticket and acts only when the ticket still needs it, so running the demo again
(or after an interrupted run) finishes what is missing and repeats nothing. Waits poll the gateway with a
deadline: the desk's own processes (routing, SLA, feedback) make the changes the demo waits for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from shared.contracts.schemas.common import ACTIVE_STATUSES, WORKING_STATUSES
from tools.demo.api import DemoApi, DemoError, until
from tools.demo.tickets import Journey

Doc = dict[str, Any]
ROUTED_TIMEOUT, FLAG_TIMEOUT = 120.0, 300.0
Step = Callable[[DemoApi, Journey, Doc], Awaitable[Doc]]


def holder(doc: Doc) -> str:
    if not doc.get("assignee_id"):
        raise DemoError(f"ticket {doc['id']} has nobody assigned (status {doc['status']})")
    return str(doc["assignee_id"])


async def routed(api: DemoApi, ticket_id: str) -> Doc:
    async def probe() -> Doc | None:
        doc = await api.ticket(ticket_id)
        return doc if doc["status"] != "new" else None
    return await until(probe, f"routing to offer ticket {ticket_id}", ROUTED_TIMEOUT)


async def claim(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    doc = await routed(api, doc["id"]) if doc["status"] == "new" else doc
    if doc["status"] != "offered" or doc.get("assignee_id"):
        return doc
    offered = doc.get("offered_to") or []
    if not offered:
        raise DemoError(f"ticket {doc['id']} is offered to nobody")
    who = j.prefer if j.prefer and j.prefer in offered else str(offered[0])
    return await api.act(who, doc["id"], "claim")


async def start(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    return await api.act(holder(doc), doc["id"], "start") if doc["status"] == "assigned" else doc


async def reply(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if doc["status"] not in ACTIVE_STATUSES or doc.get("last_message_from") == "agent":
        return doc
    return await api.act(holder(doc), doc["id"], "reply", {"text": f"We are on it: {j.subject.lower()}."})


async def hold(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if doc["status"] != "in_progress":
        return doc
    return await api.act(holder(doc), doc["id"], "hold", {"reason": "waiting for the client's details"})


async def escalate(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if doc.get("handovers") or doc["status"] not in ("assigned", "in_progress"):
        return doc
    return await api.act(holder(doc), doc["id"], "escalate", {"reason": "needs the next line's engineers"})


async def resolve(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if doc["status"] not in WORKING_STATUSES:
        return doc
    return await api.act(holder(doc), doc["id"], "resolve", {"problem": j.subject, "solution": "Fixed on our side"})


async def rate(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if doc["status"] != "resolved":
        return doc
    link = await until(lambda: api.survey_link(doc["id"]), f"the survey of ticket {doc['id']}", ROUTED_TIMEOUT)
    await api.call("GET", link, who="client", headers={})  # the client clicks "good" in the mail
    return await flag_or_status(api, doc["id"], lambda d: d["status"] in ("completed", "closed"), "rated")


async def subticket(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    if not doc.get("children"):
        doc = await api.act(holder(doc), doc["id"], "subtickets", {"summary": f"Bug: {j.subject.lower()}"})
    return await flag_or_status(api, doc["id"], lambda d: bool(d.get("children")), "its development sub-ticket")


async def away(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    await api.availability(holder(doc), "lunch")
    return doc


async def write_again(api: DemoApi, j: Journey, doc: Doc) -> Doc:
    await api.send(*j.message(2))
    return doc


async def flag_or_status(api: DemoApi, ticket_id: str, check: Callable[[Doc], bool], what: str) -> Doc:
    async def probe() -> Doc | None:
        doc = await api.ticket(ticket_id)
        return doc if check(doc) else None
    return await until(probe, f"ticket {ticket_id}: {what}", FLAG_TIMEOUT, interval=1.0)


async def wait_flag(api: DemoApi, ticket_id: str, name: str) -> Doc:
    return await flag_or_status(api, ticket_id, lambda d: bool(d["flags"].get(name)), f"flag {name}")


STEPS: dict[str, Step] = {"claim": claim, "start": start, "reply": reply, "hold": hold, "escalate": escalate,
                          "resolve": resolve, "rate": rate, "subticket": subticket, "away": away,
                          "write_again": write_again}


async def drive(api: DemoApi, j: Journey, ticket_id: str) -> Doc:
    doc = await api.ticket(ticket_id)
    for step in j.steps:
        if step.startswith("flag:"):
            doc = await wait_flag(api, ticket_id, step.removeprefix("flag:"))
        else:
            doc = await STEPS[step](api, j, doc)
    return doc


async def drive_all(api: DemoApi, tickets: dict[Journey, str], parallel: int = 6) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(j: Journey, ticket_id: str) -> None:
        async with gate:
            try:
                await drive(api, j, ticket_id)
            except DemoError as exc:
                raise DemoError(f"ticket {j.key} ({j.subject}): {exc}") from None

    await asyncio.gather(*(one(j, t) for j, t in tickets.items()))
