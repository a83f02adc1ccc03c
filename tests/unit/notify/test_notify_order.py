"""One client, one ticket: notices go out in the order of the events that caused them (reply, resolved, survey).

Feedback publishes the survey on its own topic, so notify may read it before the resolution it follows; and
each channel has several workers. Driven step by step against the real database: what the dispatcher may claim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.handlers import NotifyHandler
from services.notify.memory import ViewMemory
from services.notify.settings import NotifySettings
from services.notify.store import DirectoryCache, NotifyStore
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import feedback as fb
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.runtime.clock import ManualClock
from tests.support.testing import make_settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ANNA = Sender(email="anna@client.example", name="Anna")


@dataclass
class Notify:
    store: NotifyStore
    handler: NotifyHandler

    async def ticket_event(self, env: Envelope, msg: Message) -> None:
        await self.handler.on_ticket_event((env, msg))

    async def claim(self, at: datetime = NOW) -> list[str]:
        return [d["template"] for d in await self.store.claim_batch("email", at, 60, 10)]

    async def send_next(self) -> str:
        """Claim what may go now: exactly one, and nothing else of this client's while it is in flight."""
        batch = await self.store.claim_batch("email", NOW, 60, 10)
        assert len(batch) == 1, [d["template"] for d in batch]
        assert await self.claim() == []
        await self.store.mark_sent(batch[0]["_id"], NOW, None, "250 ok")
        return str(batch[0]["template"])


@pytest_asyncio.fixture
async def notify(env: dict[str, str], db: AsyncDatabase) -> AsyncIterator[Notify]:
    settings = make_settings(NotifySettings, env, directory_cache_seconds=0.0)
    store = NotifyStore(db)
    yield Notify(store, NotifyHandler(ViewMemory(store), DirectoryCache(db, 0.0), None, ManualClock(NOW), settings))


def event(msg: Message, at: datetime = NOW, cause: Envelope | None = None) -> Envelope:
    return envelope_for(msg, "T-1", occurred_at=at, cause=cause, actor="test")


async def opened_replied_resolved(n: Notify) -> tuple[Envelope, list[tuple[Envelope, Message]]]:
    opened = t.TicketOpened(channel=Channel.email, number=7, subject="No connection", text="The line is down",
                            sender=ANNA)
    await n.ticket_event(event(opened), opened)
    reply = t.ReplySent(agent_id="ann", text="Restarted the port", channel=Channel.email)
    resolved = t.TicketResolved(agent_id="ann", problem="No line", solution="Port restarted", channel=Channel.email,
                                sender=ANNA)
    pairs: list[tuple[Envelope, Message]] = [(event(reply), reply), (event(resolved), resolved)]
    return pairs[1][0], pairs


def survey_of(resolved: Envelope) -> tuple[Envelope, fb.SurveyRequested]:
    msg = fb.SurveyRequested(survey_id="s1", ticket_number=7, channel="email", language="en",
                             to_email=ANNA.email, links={"good": "https://fb/s/x/good", "bad": "https://fb/s/x/bad",
                                                         "not_mine": "https://fb/s/x/not_mine"},
                             problem="No line", solution="Port restarted")
    return event(msg, resolved.occurred_at, cause=resolved), msg


async def test_a_survey_read_before_its_resolution_still_goes_after_the_reply_and_the_resolution(
        notify: Notify) -> None:
    resolved, pairs = await opened_replied_resolved(notify)
    survey_env, survey = survey_of(resolved)
    await notify.handler.on_event((survey_env, survey))  # feedback.events was read first
    assert await notify.claim() == []  # the resolution it follows is not even known yet
    for env, msg in pairs:
        await notify.ticket_event(env, msg)
    assert [await notify.send_next() for _ in range(3)] == ["reply", "ticket_resolved", "survey"]
    assert await notify.claim() == []


async def test_a_retried_notice_holds_back_the_later_ones_until_it_is_done(notify: Notify) -> None:
    resolved, pairs = await opened_replied_resolved(notify)
    for env, msg in pairs:
        await notify.ticket_event(env, msg)
    survey_env, survey = survey_of(resolved)
    await notify.handler.on_event((survey_env, survey))
    [reply] = await notify.store.claim_batch("email", NOW, 60, 10)
    later = NOW + timedelta(minutes=5)
    await notify.store.reschedule(reply["_id"], later, "421 try again")  # a transient SMTP failure
    assert await notify.claim(NOW + timedelta(minutes=1)) == []  # resolved and survey wait for the reply
    [again] = await notify.store.claim_batch("email", later, 60, 10)
    assert again["template"] == "reply"
    await notify.store.mark_failed(again["_id"], later, "550 no such user", permanent=True)  # done, for good
    assert await notify.claim(later) == ["ticket_resolved"]


async def test_a_partitions_batch_keeps_the_order_and_releases_the_survey_held_for_its_resolution(
        notify: Notify) -> None:
    resolved, pairs = await opened_replied_resolved(notify)
    survey_env, survey = survey_of(resolved)
    await notify.handler.on_event((survey_env, survey))  # held: its resolution is not folded yet
    await notify.handler.on_ticket_events(pairs)  # the reply and the resolution fetched together
    assert [await notify.send_next() for _ in range(3)] == ["reply", "ticket_resolved", "survey"]
    await notify.handler.on_ticket_events(pairs)  # the same batch again (a rebalance before the commit)
    assert await notify.claim() == []
