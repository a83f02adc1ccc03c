"""Feedback's verbs on the one in-process desk (``tests.support.desk``): the real ledger and feedback.

Tickets are driven through the ledger by publishing its commands, exactly as agents' actions do:
OpenTicket → OfferTicket → ClaimTicket → StartWork → ResolveTicket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.contracts.topics import FEEDBACK_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import ManualClock
from tests.support.desk import Desk, running_desk
from tests.support.testing import Tap

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY = "test-feedback-key-0123456789abcdef"
BASE_URL = "https://feedback.desk.example"
AGENT = "agent-anna"


class FeedbackDesk(Desk):
    @property
    def feedback(self) -> Tap:
        return self.taps[FEEDBACK_EVENTS.name]

    async def put(self, *items: BaseModel, at: datetime | None = T0, actor: str = "test") -> None:
        await super().put(*items, at=at, actor=actor)

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

    async def survey_doc(self, ticket_id: str) -> dict[str, Any]:
        doc = await self.db["feedback_surveys"].find_one({"ticket_id": ticket_id})
        assert doc is not None, ticket_id
        return dict(doc)


@asynccontextmanager
async def desk(env: dict[str, str], **overrides: Any) -> AsyncIterator[FeedbackDesk]:
    """The ledger and feedback (the desk's front, at its public base URL) on one manual clock."""
    settings = {"feedback": {"hmac_key": KEY, "public_base_url": BASE_URL, "timer_interval_seconds": 0.05,
                             "sweep_interval_seconds": 0.2, **overrides}}
    async with running_desk(env, ManualClock(T0), ["feedback"], settings=settings, taps=[FEEDBACK_EVENTS],
                            base_url=BASE_URL) as d:
        yield FeedbackDesk(**vars(d))
