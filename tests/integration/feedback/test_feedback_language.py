"""One language for everything a client receives on a ticket: the ledger decides it from the opening message,
notify's mails and feedback's survey and answer pages all use it (real ledger, feedback and notify)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from feedback_support import AGENT, FeedbackDesk, desk

from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import TICKETS_COMMANDS
from tests.support.testing import eventually, make_settings, running


def closed_port() -> int:
    """A port nobody listens on: mails are rendered and queued, their sending keeps being retried."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def desk_with_notify(env: dict[str, str]) -> AsyncIterator[FeedbackDesk]:
    async with desk(env) as d:
        settings = make_settings(NotifySettings, env, smtp_port=closed_port(), smtp_starttls=False, poll_interval=0.2,
                                 retry_base_seconds=30.0, directory_cache_seconds=0.0, mail_domain="desk.test")
        async with running(notify_app(settings, d.clock)):
            yield d


async def replied_and_resolved(d: FeedbackDesk, ticket_id: str, subject: str, text: str, reply: str) -> None:
    anna = Sender(email=f"{ticket_id.lower()}@client.example", name="Anna")
    await d.bus.publish_many(TICKETS_COMMANDS, [envelope_for(cmd, ticket_id, occurred_at=d.clock.now()) for cmd in (
        t.OpenTicket(channel=Channel.email, subject=subject, text=text, sender=anna),
        t.OfferTicket(agent_ids=[AGENT], line="first"), t.ClaimTicket(agent_id=AGENT), t.StartWork(agent_id=AGENT),
        t.ReplyToClient(agent_id=AGENT, text=reply))])
    await d.events.wait(ticket_id, "ReplySent")
    await d.resolve(ticket_id)


async def client_mails(d: FeedbackDesk, ticket_id: str) -> dict[str, dict[str, Any]]:
    async def three() -> dict[str, dict[str, Any]] | None:
        docs = [doc async for doc in d.db["notify_deliveries"].find({"ticket_id": ticket_id, "audience": "client"})]
        by_template = {doc["template"]: doc for doc in docs}
        return by_template if {"reply", "ticket_resolved", "survey"} <= set(by_template) else None
    return await eventually(three, 60, interval=0.2, message=f"reply, resolved and survey mails of {ticket_id}")


async def test_an_english_clients_survey_mail_and_pages_are_english(env: dict[str, str]) -> None:
    async with desk_with_notify(env) as d:
        await replied_and_resolved(d, "T-en", "No connection", "The line is down since morning",
                                   "We restarted the port")
        await replied_and_resolved(d, "T-ru", "Нет связи", "С утра не работает линия", "Перезапустили порт")
        assert (await d.ticket("T-en"))["language"] == "en" and (await d.ticket("T-ru"))["language"] == "ru"
        assert (await d.survey("T-en")).payload["language"] == "en"
        assert (await d.survey("T-ru")).payload["language"] == "ru"

        english, russian = await client_mails(d, "T-en"), await client_mails(d, "T-ru")
        assert {m["language"] for m in english.values()} == {"en"}
        assert {m["language"] for m in russian.values()} == {"ru"}
        assert "How did we do?" in english["survey"]["subject"] and "Please rate it" in english["survey"]["text"]

        # The pages speak the survey's language whatever the browser prefers; the page's own switch still works.
        survey_en, survey_ru = await d.survey_doc("T-en"), await d.survey_doc("T-ru")
        page = await d.http.get(_path(survey_en["url"]), headers={"Accept-Language": "ru-RU,ru;q=0.9"})
        assert page.status_code == 200 and '<html lang="en">' in page.text, page.text[:300]
        assert "The work was good" in page.text
        page_ru = await d.http.get(_path(survey_ru["url"]), headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert page_ru.status_code == 200 and '<html lang="ru">' in page_ru.text
        switched = await d.http.get(_path(survey_ru["url"]) + "?lang=en")
        assert '<html lang="en">' in switched.text
        links = (await d.survey("T-en")).payload["links"]
        answered = await d.click(links["good"])
        assert answered.status_code == 200 and '<html lang="en">' in answered.text


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]
