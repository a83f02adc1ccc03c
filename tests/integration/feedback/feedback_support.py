"""A running desk for feedback tests: the real ledger and feedback on the real broker and database.

Tickets are driven through the ledger by publishing its commands, exactly as agents' actions do:
OpenTicket → OfferTicket → ClaimTicket → StartWork → ResolveTicket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.feedback.app import create_app as feedback_app
from services.feedback.settings import FeedbackSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.contracts.topics import FEEDBACK_EVENTS, TICKETS_COMMANDS, TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.contacts import CONTACTS, ContactPerson
from shared.directory.routing import GROUPS, TEAMS, Group, ServiceTeam
from shared.runtime.clock import ManualClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, make_settings, running

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY = "test-feedback-key-0123456789abcdef"
BASE_URL = "https://feedback.desk.example"
AGENT = "agent-anna"
_DIRS = {ServiceTeam: TEAMS, Group: GROUPS, ContactPerson: CONTACTS}


@dataclass
class Desk:
    clock: ManualClock
    bus: KafkaBus
    db: AsyncDatabase
    events: Tap
    feedback: Tap
    http: httpx.AsyncClient
    app: Any

    async def put(self, *items: BaseModel) -> None:
        for item in items:
            await DirectoryStore(self.db, _DIRS[type(item)]).put(item, actor="test", at=T0)  # type: ignore[arg-type]

    async def send(self, ticket_id: str, cmd: Message) -> Envelope:
        env = envelope_for(cmd, ticket_id, occurred_at=self.clock.now(), actor="test")
        await self.bus.publish(TICKETS_COMMANDS, env)
        return env

    async def in_progress(self, ticket_id: str, *, channel: Channel = Channel.email, sender: Sender | None = None,
                          client: ClientRef | None = None, created_by: str | None = None,
                          group_id: str | None = "g-1", text: str = "Помогите, пожалуйста") -> None:
        """Open, offer, claim and start a ticket (one partition: the ledger takes them in order).

        The client writes Russian unless told otherwise: the survey and its pages speak the ticket's language.
        """
        await self.bus.publish_many(TICKETS_COMMANDS, [envelope_for(cmd, ticket_id, occurred_at=self.clock.now())
                                                       for cmd in (
            t.OpenTicket(channel=channel, subject=f"Обращение {ticket_id}", text=text, sender=sender or Sender(),
                         client=client, created_by=created_by),
            t.OfferTicket(agent_ids=[AGENT], line="first", group_id=group_id),
            t.ClaimTicket(agent_id=AGENT),
            t.StartWork(agent_id=AGENT))])
        await self.events.wait(ticket_id, "WorkStarted")

    async def resolve(self, ticket_id: str, problem: str = "No internet since morning",
                      solution: str = "Reset the port on the switch") -> Envelope:
        await self.send(ticket_id, t.ResolveTicket(agent_id=AGENT, problem=problem, solution=solution))
        return (await self.events.wait(ticket_id, "TicketResolved"))[-1]

    async def survey(self, ticket_id: str) -> Envelope:
        return (await self.feedback.wait(ticket_id, "SurveyRequested"))[-1]

    async def click(self, url: str, *, accept: str = "text/html", method: str = "GET") -> httpx.Response:
        """Follow a link from a survey the way a browser does (the public base URL is ours)."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == BASE_URL, url
        return await self.http.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                                       headers={"Accept": accept})

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        doc = await self.db["tickets"].find_one({"_id": ticket_id}, {"history": 0})
        assert doc is not None, ticket_id
        return dict(doc)

    async def survey_doc(self, ticket_id: str) -> dict[str, Any]:
        doc = await self.db["feedback_surveys"].find_one({"ticket_id": ticket_id})
        assert doc is not None, ticket_id
        return dict(doc)


@asynccontextmanager
async def desk(env: dict[str, str], **overrides: Any) -> AsyncIterator[Desk]:
    clock = ManualClock(T0)
    fb_settings = make_settings(FeedbackSettings, env, hmac_key=KEY, public_base_url=BASE_URL,
                                timer_interval_seconds=0.05, sweep_interval_seconds=0.2, **overrides)
    ledger = tickets_app(make_settings(TicketsSettings, env), clock)
    feedback = feedback_app(fb_settings, clock)
    bus = KafkaBus(fb_settings, "test")
    client = mongo_client(fb_settings)
    async with AsyncExitStack() as stack:
        # The two services' consumers join their groups concurrently: half the start-up time.
        await asyncio.gather(stack.enter_async_context(running(ledger)), stack.enter_async_context(running(feedback)))
        events = await stack.enter_async_context(Tap(fb_settings, TICKETS_EVENTS))
        fb_events = await stack.enter_async_context(Tap(fb_settings, FEEDBACK_EVENTS))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=feedback), base_url=BASE_URL))
        await bus.start()
        try:
            yield Desk(clock, bus, database(client, fb_settings), events, fb_events, http, feedback)
        finally:
            await bus.stop()
            await client.close()
