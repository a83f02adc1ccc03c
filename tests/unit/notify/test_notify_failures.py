"""Deliveries that can never succeed: no header injection, failed at once, and told to the reply's author."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.domain import PlanInput, plan
from services.notify.email import SmtpSender, build_message, thread_id
from services.notify.errors import SendError
from services.notify.failures import failure_notice
from services.notify.projection import TicketView
from services.notify.settings import NotifySettings
from services.notify.templates import render
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel
from shared.directory.notify import NotifyPreference
from shared.directory.routing import Agent, Staff

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STAFF = Staff(agents={"ivan": Agent(id="ivan", name="Ivan", language="en"), "olga": Agent(id="olga", name="Olga")})
VIEW = TicketView(ticket_id="t-1", number=9, subject="Printer", channel="email", email="anna@c.test",
                  client_name="Anna", assignee_id="ivan")
INJECTED = "<c1@client.test>\r\nBcc: thief@evil.test"


def delivery(**kw: object) -> dict[str, object]:
    return {"_id": "n-1", "event_id": "e-1", "ticket_id": "t-1", "recipient": "client:anna", "channel": "email",
            "address": "anna@c.test", "template": "reply", "subject": "Re: [#9] Printer", "text": "Hi\n",
            "html": "<p>Hi</p>", "language": "en", "automatic": False, **kw}


def settings() -> NotifySettings:
    return NotifySettings(mail_domain="desk.test", smtp_port=1)  # nothing listens: building must fail first


@pytest.mark.parametrize("bad", [INJECTED, "<c1@client.test>\nX-Evil: 1", "not an id", "<a@b> <c@d>", "<@>", ""])
def test_a_bad_threading_id_is_left_out_and_the_reply_still_goes(bad: str) -> None:
    assert thread_id(bad) is None
    msg = build_message(delivery(in_reply_to=bad, references=[bad]), settings(), NOW)
    assert msg["In-Reply-To"] is None and msg["References"] is None and msg["Bcc"] is None
    assert msg.get_body(preferencelist=("plain",)).get_content() == "Hi\n"  # type: ignore[union-attr]
    assert "thief" not in msg.as_string() and "X-Evil" not in msg.as_string()


def test_only_the_bad_references_are_dropped() -> None:
    msg = build_message(delivery(in_reply_to="c1@client.test", references=["<c0@client.test>", INJECTED]),
                        settings(), NOW)
    assert msg["In-Reply-To"] == "<c1@client.test>" and msg["References"] == "<c0@client.test>"


async def test_a_message_that_cannot_be_built_fails_permanently_without_a_connection() -> None:
    sender = SmtpSender(settings(), lambda: NOW)
    with pytest.raises(SendError) as exc:
        await sender.send(delivery(ticket_id="t-1\r\nBcc: thief@evil.test"))
    assert exc.value.permanent and "cannot build" in exc.value.reason
    with pytest.raises(SendError) as invalid:
        await sender.send(delivery(address="anna@client"))
    assert invalid.value.permanent


def test_a_reply_carries_its_author_and_automatic_notices_do_not() -> None:
    reply = t.ReplySent(agent_id="ivan", text="Done", channel=Channel.email)
    [intent] = plan(PlanInput(env=envelope_for(reply, "t-1", occurred_at=NOW, id="e-1"), msg=reply, view=VIEW,
                              staff=STAFF, now=NOW))
    assert intent.author == "ivan" and intent.template == "reply"
    taken = t.WorkStarted(agent_id="ivan")
    intents = plan(PlanInput(env=envelope_for(taken, "t-1", occurred_at=NOW, id="e-2"), msg=taken, view=VIEW,
                             staff=STAFF, now=NOW))
    assert intents and all(i.author is None for i in intents)


def test_the_author_is_told_in_their_language() -> None:
    failed = delivery(status="failed", author="ivan", last_error="invalid e-mail address 'anna@client'")
    notice = failure_notice(failed, VIEW, STAFF, {}, "ru", "https://desk.test/tickets/t-1")
    assert notice is not None
    assert (notice.channel, notice.address, notice.template, notice.language) == ("in_app", "ivan",
                                                                                  "delivery_failed", "en")
    en = render(notice.template, notice.language, notice.context)
    assert en.subject == "[#9] Not delivered to anna@c.test: Printer"
    assert "Your reply in ticket #9" in en.text and "invalid e-mail address" in en.text
    olga = failure_notice({**failed, "author": "olga"}, VIEW, STAFF, {}, "ru", None)
    assert olga is not None and olga.language == "ru"
    ru = render(olga.template, olga.language, olga.context)
    assert ru.subject.startswith("[#9] Не доставлено") and "Ваш ответ по обращению №9" in ru.text
    prefers = failure_notice(failed, VIEW, STAFF, {"ivan": NotifyPreference(id="ivan", language="ru")}, "en", None)
    assert prefers is not None and prefers.language == "ru"
    again = failure_notice({**failed, "requeued_at": NOW}, VIEW, STAFF, {}, "ru", None)
    assert again is not None and again.notification_id != notice.notification_id  # requeued and failed again
    assert failure_notice({**failed, "author": None}, VIEW, STAFF, {}, "ru", None) is None
    assert failure_notice({**failed, "status": "sent"}, VIEW, STAFF, {}, "ru", None) is None
