"""The client's language on a ticket: their own preference, else the ticket's (the ledger's decision), for every
notice, the survey included; when the preference differs from the survey page's language, the links say so."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notify.domain import PlanInput, plan
from services.notify.projection import TicketView
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import feedback as fb
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.directory.notify import NotifyPreference
from shared.directory.routing import Staff

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VIEW = TicketView(ticket_id="T-1", number=7, channel="email", email="anna@c.test", client_key="k1", language="ru")
LINKS = {a: f"https://fb.example/s/tok/{a}" for a in ("good", "bad", "not_mine")}
SURVEY = fb.SurveyRequested(survey_id="s1", ticket_number=7, channel="email", language="ru", to_email="anna@c.test",
                            links=LINKS, problem="p", solution="s")
RESOLVED = t.TicketResolved(agent_id="ann", problem="p", solution="s", channel=Channel.email,
                            sender=Sender(email="anna@c.test"))


def intents(msg: Message, prefs: dict[str, NotifyPreference]) -> list[tuple[str, str]]:
    env = envelope_for(msg, "T-1", occurred_at=NOW)
    return [(i.language, i.context.get("links", {}).get("good", ""))
            for i in plan(PlanInput(env, msg, VIEW, Staff(), prefs, NOW))]


def test_the_tickets_language_for_everything_and_the_survey_links_as_feedback_made_them() -> None:
    assert intents(RESOLVED, {}) == [("ru", "")]
    assert intents(SURVEY, {}) == [("ru", LINKS["good"])]


def test_the_clients_own_preference_wins_for_every_notice_and_the_survey_page_follows_it() -> None:
    prefs = {"k1": NotifyPreference(id="k1", language="en")}
    assert intents(RESOLVED, prefs) == [("en", "")]
    assert intents(SURVEY, prefs) == [("en", f"{LINKS['good']}?lang=en")]
