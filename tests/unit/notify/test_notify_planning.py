"""The ticket projection and the plan: which intents an event yields, with keys, channels, threading, timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.domain import (
    PlanInput,
    backoff_delay,
    client_route,
    notification_id,
    plan,
    quiet_until,
)
from services.notify.projection import TicketView, apply, reopen_count
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import feedback as fb
from shared.contracts.schemas import routing as rt
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.notify import NotifyPreference, QuietHours
from shared.directory.routing import Agent, Role, ServiceTeam, Staff, TeamMember

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STAFF = Staff(
    agents={"lead": Agent(id="lead", name="Lead", email="lead@s.test", phone="+79120000001", language="en"),
            "ivan": Agent(id="ivan", name="Ivan", email="ivan@s.test")},
    teams={"T": ServiceTeam(id="T", name="T", members=[TeamMember(agent_id="lead", role=Role.team_lead)])})


def env(msg: Message, eid: str, cause: str | None = None) -> Envelope:
    e = envelope_for(msg, "T-1", occurred_at=NOW, id=eid)
    return e.model_copy(update={"causation_id": cause})


def content(mid: str, refs: list[str] | None = None, text: str = "hi", conv: str | None = None) -> InboundContent:
    return InboundContent(message_id=mid, channel=Channel.email, external_id=mid, text=text, received_at=NOW,
                          sender=Sender(email="anna@c.test"), email_message_id=f"<{mid}@c.test>",
                          references=refs or [], conversation_id=conv)


def fold(*pairs: tuple[Message, str, str | None]) -> TicketView | None:
    view = None
    for msg, eid, cause in pairs:
        view = apply(view, env(msg, eid, cause), msg)
    return view


OPENED = t.TicketOpened(channel=Channel.email, number=9, subject="Printer", text="Принтер горит",
                        sender=Sender(email="anna@c.test", name="Anna"),
                        client=ClientRef(client_id="c1", contact_id="k1", service_team_id="T"))


def test_projection_tracks_contact_thread_team_and_assignee() -> None:
    v = fold((OPENED, "e1", "cmd1"), (t.MessageReceived(content=content("m1", ["<m0@c.test>"])), "e2", "cmd1"),
             (t.TicketAssigned(agent_id="ivan", mode="auto"), "e3", None),
             (t.MessageReceived(content=content("m2", ["<m0@c.test>", "<m1@c.test>"], conv="th")), "e4", "c2"))
    assert v is not None
    assert (v.team_id, v.assignee_id, v.client_key, v.email, v.language) == ("T", "ivan", "k1", "anna@c.test", "ru")
    assert v.last_email_message_id == "<m2@c.test>"
    assert v.references == ["<m0@c.test>", "<m1@c.test>", "<m2@c.test>"]
    again = apply(v, env(t.MessageReceived(content=content("m2", ["<m0@c.test>", "<m1@c.test>"])), "e4"),
                  t.MessageReceived(content=content("m2", ["<m0@c.test>", "<m1@c.test>"])))
    assert again.references == v.references  # replay converges
    offered = apply(v, env(t.TicketOffered(agent_ids=["a"], line="second", group_id="g2"), "e5"),
                    t.TicketOffered(agent_ids=["a"], line="second", group_id="g2"))
    assert offered.assignee_id is None and offered.group_id == "g2"


def test_reopen_count_is_replay_safe_and_language_detection() -> None:
    v = fold((OPENED, "e1", "c"), (t.TicketReopened(from_status="resolved"), "r1", None))
    v = apply(v, env(t.TicketReopened(from_status="resolved"), "r1"), t.TicketReopened(from_status="resolved"))
    assert reopen_count(v) == 1 and reopen_count(None) == 0
    assert v is not None and v.language == "ru"  # the ledger's decision, carried on TicketOpened


def p(msg: Message, eid: str, view: TicketView | None, cause: str | None = None, **kw: object) -> PlanInput:
    kw.setdefault("now", NOW)
    return PlanInput(env=env(msg, eid, cause), msg=msg, view=view, staff=STAFF, **kw)  # type: ignore[arg-type]


def test_ticket_opened_tells_staff_in_app_and_by_mail_with_stable_ids() -> None:
    view = fold((OPENED, "e1", "cmd1"))
    intents = plan(p(OPENED, "e1", view, "cmd1"))
    assert {(i.recipient, i.channel) for i in intents} == {("lead", "in_app"), ("lead", "email")}
    mail = next(i for i in intents if i.channel == "email")
    assert mail.notification_id == notification_id("e1", "lead", "email") and mail.language == "en"
    assert mail.address == "lead@s.test" and mail.automatic and mail.audience == "staff"
    assert [i.notification_id for i in plan(p(OPENED, "e1", view, "cmd1"))] == [i.notification_id for i in intents]


def test_preferences_choose_channels_and_quiet_hours_defer_pushes() -> None:
    view = fold((OPENED, "e1", "cmd1"))
    prefs = {"lead": NotifyPreference(id="lead", channels=["sms", "in_app"], language="ru",
                                      quiet_hours=QuietHours(start="22:00", end="08:00", timezone="Asia/Vladivostok"))}
    intents = plan(p(OPENED, "e1", view, "cmd1", prefs=prefs, now=NOW + timedelta(hours=3)))  # 23:00 local
    sms = next(i for i in intents if i.channel == "sms")
    assert {i.channel for i in intents} == {"in_app", "sms"} and sms.language == "ru"
    assert sms.not_before == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 08:00 local
    assert next(i for i in plan(p(OPENED, "e1", view, "cmd1", prefs=prefs)) if i.channel == "sms").not_before is None
    feed_only = {"lead": NotifyPreference(id="lead", channels=["in_app"])}
    assert {i.channel for i in plan(p(OPENED, "e1", view, "cmd1", prefs=feed_only))} == {"in_app"}


def test_quiet_hours_and_backoff() -> None:
    qh = QuietHours(start="22:00", end="08:00", timezone="UTC")
    assert quiet_until(qh, NOW.replace(hour=23)) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert quiet_until(qh, NOW.replace(hour=3)) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert quiet_until(qh, NOW) is None and quiet_until(None, NOW) is None
    day = QuietHours(start="12:00", end="14:00", timezone="Europe/Moscow")  # UTC+3
    assert quiet_until(day, NOW) == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert quiet_until(QuietHours(start="10:00", end="10:00"), NOW) is None
    assert backoff_delay(1, 2, 600, 0) == 1 and backoff_delay(1, 2, 600, 1) == 2
    assert backoff_delay(4, 2, 600, 0.5) == 12 and backoff_delay(30, 2, 600, 1) == 600
    assert all(300 <= backoff_delay(20, 2, 600, r / 10) <= 600 for r in range(11))


def test_the_opening_message_is_not_news_but_a_later_one_is() -> None:
    first = t.MessageReceived(content=content("m1"))
    view = fold((OPENED, "e1", "cmd1"), (first, "e2", "cmd1"))
    assert plan(p(first, "e2", view, "cmd1")) == []
    later = t.MessageReceived(content=content("m2"))
    assert {i.template for i in plan(p(later, "e3", view, "cmd2"))} == {"client_message"}


def test_taken_into_work_is_one_notice_per_ticket_and_per_reopening() -> None:
    view = fold((OPENED, "e1", "c"), (t.MessageReceived(content=content("m1")), "e2", "c"))
    assigned, started = t.TicketAssigned(agent_id="ivan", mode="auto"), t.WorkStarted(agent_id="ivan")
    a, s = plan(p(assigned, "e3", view)), plan(p(started, "e4", view))
    client_a = [i for i in a if i.audience == "client"]
    assert [i.notification_id for i in client_a] == [i.notification_id for i in s]
    assert client_a[0].in_reply_to == "<m1@c.test>" and client_a[0].automatic
    assert {i.recipient for i in a if i.audience == "staff"} == {"ivan"}  # an auto-assignment tells the assignee
    claimed = plan(p(t.TicketAssigned(agent_id="ivan", mode="claim"), "e5", view))
    assert all(i.audience == "client" for i in claimed)
    reopened = apply(view, env(t.TicketReopened(from_status="resolved"), "r"), t.TicketReopened(from_status="resolved"))
    assert plan(p(started, "e6", reopened))[0].notification_id != s[0].notification_id


def test_replies_go_back_on_the_tickets_channel_and_thread() -> None:
    view = fold((OPENED, "e1", "c"), (t.MessageReceived(content=content("m1", ["<m0@c.test>"])), "e2", "c"))
    [mail] = plan(p(t.ReplySent(agent_id="ivan", text="Done", channel=Channel.email), "e3", view))
    assert (mail.channel, mail.address, mail.recipient) == ("email", "anna@c.test", "client:k1")
    assert mail.in_reply_to == "<m1@c.test>" and mail.references == ("<m0@c.test>", "<m1@c.test>")
    assert not mail.automatic and mail.context["text"] == "Done" and mail.language == "ru"
    chat = view.model_copy(update={"channel": "chat", "conversation_id": "conv-1"})
    assert client_route(chat) == ("chat", "conv-1")
    phone = TicketView(ticket_id="x", channel="phone", phone="+79120000000", email="a@b.test")
    assert client_route(phone) == ("sms", "+79120000000")
    assert client_route(TicketView(ticket_id="x", channel="web", phone="+7912")) == ("sms", "+7912")
    assert client_route(TicketView(ticket_id="x", channel="chat")) is None
    [sms] = plan(p(t.ReplySent(agent_id="ivan", text="ok", channel=Channel.phone), "e4", phone))
    assert sms.channel == "sms" and sms.in_reply_to is None and sms.references == ()


def test_client_opt_out_applies_to_automatic_notices_not_to_replies() -> None:
    view = fold((OPENED, "e1", "c"))
    prefs = {"k1": NotifyPreference(id="k1", channels=["sms"])}
    resolved = t.TicketResolved(agent_id="ivan", problem="p", solution="s", channel=Channel.email,
                                sender=Sender(email="anna@c.test"))
    assert plan(p(resolved, "e2", view, prefs=prefs)) == []
    assert len(plan(p(t.ReplySent(agent_id="ivan", text="x", channel=Channel.email), "e3", view, prefs=prefs))) == 1
    [notice] = plan(p(resolved, "e2", view))
    assert notice.template == "ticket_resolved" and notice.context["solution"] == "s"


def test_survey_uses_its_own_channel_links_language_and_thread() -> None:
    view = fold((OPENED, "e1", "c"))
    survey = fb.SurveyRequested(survey_id="s1", ticket_number=9, channel="email", language="en",
                                to_email="anna@c.test", links={"good": "g", "bad": "b", "not_mine": "n"},
                                problem="p", solution="s", in_reply_to="<m5@c.test>")
    [i] = plan(p(survey, "e2", view))
    assert (i.template, i.language, i.in_reply_to, i.context["links"]["good"]) == ("survey", "en", "<m5@c.test>", "g")
    sms = survey.model_copy(update={"channel": "sms", "to_phone": "+79120000000"})
    [j] = plan(p(sms, "e3", None))
    assert (j.channel, j.address) == ("sms", "+79120000000")
    assert i.buttons == () and j.buttons == ()


def test_a_chat_survey_carries_its_buttons_and_other_channels_do_not() -> None:
    buttons = [fb.SurveyButton(answer=a, label=a.upper(), url=f"https://s/{a}") for a in ("good", "bad", "not_mine")]
    survey = fb.SurveyRequested(survey_id="s1", ticket_number=9, channel="chat", chat_conversation_id="conv-9",
                                links={b.answer: b.url for b in buttons}, problem="p", solution="s", buttons=buttons)
    [chat] = plan(p(survey, "e2", None))
    assert (chat.channel, chat.address) == ("chat", "conv-9")
    assert chat.buttons == ({"label": "GOOD", "url": "https://s/good"}, {"label": "BAD", "url": "https://s/bad"},
                            {"label": "NOT_MINE", "url": "https://s/not_mine"})
    mail = survey.model_copy(update={"channel": "email", "to_email": "anna@c.test", "chat_conversation_id": None})
    [by_mail] = plan(p(mail, "e3", None))
    assert by_mail.channel == "email" and by_mail.buttons == ()


def test_a_deadline_reminder_tells_the_assignee_how_long_is_left() -> None:
    view = fold((OPENED, "e1", "c"), (t.TicketAssigned(agent_id="ivan", mode="claim"), "e2", None))
    due = NOW + timedelta(hours=1)
    intents = plan(p(sla.DeadlineReminder(deadline=due, remaining_seconds=3600.0), "e3", view))
    assert {(i.recipient, i.channel) for i in intents} == {("ivan", "in_app"), ("ivan", "email")}
    mail = next(i for i in intents if i.channel == "email")
    assert mail.template == "deadline_reminder" and mail.context["remaining_minutes"] == 60
    assert mail.context["deadline"] == due.isoformat() and mail.context["reason"] == "assignee"
    assert mail.notification_id == notification_id("e3", "ivan", "email")
    unassigned = plan(p(sla.DeadlineReminder(deadline=due, remaining_seconds=59.0), "e4", fold((OPENED, "e1", "c"))))
    assert {i.recipient for i in unassigned} == {"lead"} and unassigned[0].context["remaining_minutes"] == 1


def test_routing_and_feedback_alerts_go_to_the_named_leads() -> None:
    view = fold((OPENED, "e1", "c"))
    alert = rt.LeadAlerted(lead_ids=["lead"], reason="assignee_unavailable", assignee_id="ivan")
    intents = plan(p(alert, "e2", view))
    assert {(i.recipient, i.channel) for i in intents} == {("lead", "in_app"), ("lead", "email")}
    assert intents[0].context["assignee_name"] == "Ivan"
    fraud = fb.FraudAlertRaised(survey_id="s", suspected_agent_id="ivan", lead_ids=["lead"])
    assert {i.template for i in plan(p(fraud, "e3", view))} == {"fraud_alert"}
    assert plan(p(t.NoteAdded(author_id="x", text="y"), "e4", view)) == []


def test_quiet_hours_expectation_is_consistent() -> None:
    # Vladivostok is UTC+10: 10:00 UTC is 20:00 there, before 22:00, so nothing is deferred then …
    qh = QuietHours(start="22:00", end="08:00", timezone="Asia/Vladivostok")
    assert quiet_until(qh, NOW) is None
    # … and at 13:00 UTC (23:00 local) pushes wait until 08:00 local = 22:00 UTC.
    assert quiet_until(qh, NOW + timedelta(hours=3)) == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


def test_a_development_sub_ticket_never_speaks_to_the_client_but_its_staff_still_hear() -> None:
    child = OPENED.model_copy(update={"parent_id": "T-parent", "channel": Channel.agent, "created_by": "ivan"})
    view = fold((child, "e1", "c"))
    assert view is not None and view.parent_id == "T-parent"
    resolved = t.TicketResolved(agent_id="ivan", problem="p", solution="s", channel=Channel.agent,
                                sender=Sender(email="anna@c.test"))
    for i, msg in enumerate((t.TicketAssigned(agent_id="lead", mode="auto"), t.WorkStarted(agent_id="lead"),
                             t.ReplySent(agent_id="lead", text="x", channel=Channel.email), resolved)):
        assert [x for x in plan(p(msg, f"e{i + 2}", view)) if x.audience == "client"] == [], type(msg).__name__
    assert {x.recipient for x in plan(p(t.TicketAssigned(agent_id="lead", mode="auto"), "e9", view))} == {"lead"}
    parent = fold((OPENED, "e1", "c"))
    assert [x.audience for x in plan(p(resolved, "e2", parent))] == ["client"], "the parent still tells the client"
