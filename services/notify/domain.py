"""What to send to whom, on which channel and when: pure planning from an event and a snapshot.

The handler folds the event into the ticket view, loads directory snapshots and calls
:func:`plan`; everything here is free of I/O and of the wall clock (``now`` is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.contracts.collections import DeliveryChannel
from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import feedback, routing, sla, tickets
from shared.directory.notify import NotifyChannel, NotifyPreference, QuietHours
from shared.directory.routing import Agent, Staff, zone_or_utc
from shared.runtime.ids import derived_id

from .projection import TicketView, reopen_count
from .recipients import (
    StaffRecipient,
    TicketStaffContext,
    deadline_staff,
    escalation_staff,
    named_staff,
    service_type_of,
    sla_staff,
    ticket_staff,
)

ChannelName = DeliveryChannel  # published with notify_deliveries
PUSH_CHANNELS: frozenset[str] = frozenset({"email", "sms", "chat"})
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")


@dataclass(frozen=True)
class Intent:
    """One notification to one person on one channel; ``notification_id`` is its idempotency key."""

    notification_id: str
    event_id: str
    ticket_id: str
    recipient: str  # agent id, or "client:<key>"
    channel: ChannelName
    address: str | None  # e-mail, phone, chat conversation id, or the in-app user id
    template: str
    language: str
    context: dict[str, Any]
    audience: Literal["staff", "client"]
    automatic: bool = True  # Auto-Submitted: auto-generated (an agent's own reply is not)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    not_before: datetime | None = None  # quiet hours
    buttons: tuple[Mapping[str, str], ...] = ()  # chat only: ``{"label", "url"}`` the platform shows as buttons
    author: str | None = None  # the agent who wrote it, told in-app if it can never be delivered
    attachments: tuple[Mapping[str, Any], ...] = ()  # a reply's files (``attachments.py``)


def notification_id(dedupe_key: str, recipient: str, channel: str) -> str:
    """Idempotency key: the same event, recipient and channel always give the same id."""
    return derived_id("notify", dedupe_key, recipient, channel)


def valid_email(address: str | None) -> bool:
    return bool(address) and bool(_EMAIL.match(address or ""))


# ---- preferences -------------------------------------------------------------------------------


def _hm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h) % 24, int(m))


def quiet_until(qh: QuietHours | None, now: datetime) -> datetime | None:
    """When pushes may resume if ``now`` falls in the quiet hours (which may wrap midnight), else None."""
    if qh is None:
        return None
    local = now.astimezone(zone_or_utc(qh.timezone))
    start, end, t0 = _hm(qh.start), _hm(qh.end), local.time()
    if start == end:
        return None
    inside = start <= t0 < end if start < end else (t0 >= start or t0 < end)
    if not inside:
        return None
    resume = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)
    return resume.astimezone(now.tzinfo)


def backoff_delay(attempt: int, base: float, cap: float, rnd: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries spread yet progress."""
    d = min(cap, base * (2 ** max(attempt - 1, 0)))
    return d / 2 + max(0.0, min(1.0, rnd)) * d / 2


# ---- addressing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A rendered-later message: template, context, and where it comes from."""

    template: str
    context: dict[str, Any]
    dedupe_key: str
    automatic: bool = True


@dataclass
class PlanInput:
    env: Envelope
    msg: Message
    view: TicketView | None
    staff: Staff
    prefs: Mapping[str, NotifyPreference] = field(default_factory=dict)
    now: datetime | None = None
    default_language: str = "ru"
    ticket_url: str | None = None


def staff_language(agent: Agent | None, pref: NotifyPreference | None, default: str) -> str:
    """A staff member's language: their notification preference, else the directory's, else the default."""
    return (pref.language if pref and pref.language else None) or (agent.language if agent else None) or default


def staff_intents(p: PlanInput, recipients: list[StaffRecipient], notice: Notice) -> list[Intent]:
    """In-app for everyone (the feed), e-mail/SMS per preference for those who get a push."""
    now = p.now or p.env.occurred_at
    out: list[Intent] = []
    for r in recipients:
        agent = p.staff.agents.get(r.agent_id)
        pref = p.prefs.get(r.agent_id)
        lang = staff_language(agent, pref, p.default_language)
        ctx = {**notice.context, "recipient_name": agent.name if agent else r.agent_id, "reason": r.reason}
        base = dict(event_id=p.env.id, ticket_id=p.env.ticket_id, recipient=r.agent_id, template=notice.template,
                    language=lang, context=ctx, audience="staff", automatic=True)
        out.append(Intent(notification_id=notification_id(notice.dedupe_key, r.agent_id, "in_app"),
                          channel="in_app", address=r.agent_id, **base))  # type: ignore[arg-type]
        if not r.push:
            continue
        channels = set(pref.channels) if pref else {NotifyChannel.email, NotifyChannel.in_app}
        wait = quiet_until(pref.quiet_hours if pref else None, now)
        email = (pref.email if pref and pref.email else None) or (agent.email if agent else None)
        phone = (pref.phone if pref and pref.phone else None) or (agent.phone if agent else None)
        for ch, addr in (("email", email), ("sms", phone)):
            if ch in channels and addr:
                out.append(Intent(notification_id=notification_id(notice.dedupe_key, r.agent_id, ch),
                                  channel=ch, address=addr, not_before=wait, **base))  # type: ignore[arg-type]
    return out


def client_route(view: TicketView, channel: str | None = None) -> tuple[ChannelName, str] | None:
    """The channel the ticket came from, with the contact for it; e-mail then SMS when it gives none."""
    ch = channel or view.channel or ""
    conversation = view.conversation_id or view.chat_id
    if ch in ("chat", "bot") and conversation:
        return "chat", conversation
    if ch == "phone" and view.phone:
        return "sms", view.phone
    if view.email:
        return "email", view.email
    if view.phone:
        return "sms", view.phone
    return None


def client_language(p: PlanInput, carried: str | None = None) -> str:
    """The client's own preference, else the ticket's language (carried on the event, else folded), else the default.

    The ticket's language is the ledger's one decision (``TicketOpened.language``); feedback carries it too.
    """
    view = p.view
    pref = p.prefs.get(view.client_key or "") if view and view.client_key else None
    return ((pref.language if pref and pref.language else None) or carried or (view.language if view else None)
            or p.default_language)


def in_language(url: str, lang: str, page_language: str) -> str:
    """A survey link opens its page in the mail's language when the client's preference differs from the page's."""
    if lang == page_language:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query), ("lang", lang)])))


def client_intent(p: PlanInput, notice: Notice, route: tuple[ChannelName, str] | None, *,
                  language: str | None = None, in_reply_to: str | None = None,
                  buttons: Sequence[Mapping[str, str]] = (), author: str | None = None,
                  attachments: Sequence[Mapping[str, Any]] = ()) -> list[Intent]:
    view = p.view
    if view is None or route is None or view.parent_id:  # a sub-ticket is internal: the parent speaks to the client
        return []
    channel, address = route
    key = view.client_key or f"{channel}:{address}"
    recipient = f"client:{key}"
    pref = p.prefs.get(view.client_key or "")
    if pref and notice.automatic and channel in ("email", "sms") and NotifyChannel(channel) not in pref.channels:
        return []  # automatic notices honour the client's opt-out; replies always go where they wrote
    lang = client_language(p, language)
    wait = quiet_until(pref.quiet_hours, p.now or p.env.occurred_at) if pref and notice.automatic else None
    ctx = {**notice.context, "client_name": view.client_name}
    thread_to = in_reply_to or view.last_email_message_id
    refs = tuple(view.references) if thread_to == view.last_email_message_id else ((thread_to,) if thread_to else ())
    if thread_to and thread_to not in refs:
        refs = (*refs, thread_to)
    return [Intent(notification_id=notification_id(notice.dedupe_key, recipient, channel), event_id=p.env.id,
                   ticket_id=p.env.ticket_id, recipient=recipient, channel=channel, address=address,
                   template=notice.template, language=lang, context=ctx, audience="client",
                   automatic=notice.automatic, in_reply_to=thread_to if channel == "email" else None,
                   references=refs if channel == "email" else (), not_before=wait,
                   buttons=tuple(buttons) if channel == "chat" else (), author=author,
                   attachments=tuple(attachments))]


# ---- the plan per event ------------------------------------------------------------------------


def _ctx(p: PlanInput) -> TicketStaffContext:
    v = p.view
    if v is None:
        return TicketStaffContext()
    return TicketStaffContext(team_id=v.team_id, group_id=v.group_id, assignee_id=v.assignee_id,
                              service_type=service_type_of(v.classification, p.staff.services))


def ticket_context(ticket_id: str, v: TicketView | None, staff: Staff, ticket_url: str | None) -> dict[str, Any]:
    """The variables every template gets (``template_context.TICKET``)."""
    agent_name = None
    if v and v.assignee_id and v.assignee_id in staff.agents:
        agent_name = staff.agents[v.assignee_id].name
    return {"ticket_id": ticket_id, "number": v.number if v else None, "subject": v.subject if v else None,
            "ticket_url": ticket_url, "client_name": v.client_name if v else None, "agent_name": agent_name,
            "service_type": service_type_of(v.classification, staff.services) if v else None}


def _base_context(p: PlanInput) -> dict[str, Any]:
    return ticket_context(p.env.ticket_id, p.view, p.staff, p.ticket_url)


def plan(p: PlanInput) -> list[Intent]:
    """Every notification one event causes (empty for events nobody needs to hear about)."""
    msg, env, now = p.msg, p.env, p.now or p.env.occurred_at
    ctx, base = _ctx(p), _base_context(p)
    key = env.id
    if isinstance(msg, tickets.TicketOpened):
        people = ticket_staff(p.staff, ctx, now, exclude=[msg.created_by] if msg.created_by else [])
        return staff_intents(p, people, Notice("ticket_opened", {**base, "text": msg.text[:2000]}, key))
    if isinstance(msg, tickets.MessageReceived):
        if p.view is not None and env.causation_id and env.causation_id == p.view.opened_cause:
            return []  # the opening message: TicketOpened already told them
        people = ticket_staff(p.staff, ctx, now)
        return staff_intents(p, people, Notice("client_message", {**base, "text": msg.content.text[:2000]}, key))
    if isinstance(msg, (tickets.TicketAssigned, tickets.WorkStarted)):
        # Assigned and then started are one fact for the client: the key is per ticket (and per reopening).
        taken_key = f"{env.ticket_id}:taken:{reopen_count(p.view)}"
        out = client_intent(p, Notice("ticket_taken", base, taken_key), client_route(p.view) if p.view else None)
        if isinstance(msg, tickets.TicketAssigned) and msg.mode != "claim":
            people = named_staff(p.staff, [msg.agent_id], "assignee", ctx, now)
            out += staff_intents(p, people, Notice("ticket_assigned", {**base, "mode": msg.mode}, key))
        return out
    if isinstance(msg, tickets.ReplySent):
        route = client_route(p.view, msg.channel.value) if p.view else None
        return client_intent(p, Notice("reply", {**base, "text": msg.text}, key, automatic=False), route,
                             author=msg.agent_id, attachments=[a.model_dump() for a in msg.attachments])
    if isinstance(msg, tickets.TicketAbsorbed) and msg.kind == "merge":  # once, on the target: the source is silent
        notice = Notice("ticket_merged", {**base, "merged_number": msg.from_number}, key)
        return client_intent(p, notice, client_route(p.view) if p.view else None)
    if isinstance(msg, tickets.TicketResolved):
        route = client_route(p.view, msg.channel.value) if p.view else None
        ctx_r = {**base, "problem": msg.problem, "solution": msg.solution}
        return client_intent(p, Notice("ticket_resolved", ctx_r, key), route)
    if isinstance(msg, routing.LeadAlerted):
        people = named_staff(p.staff, msg.lead_ids, "lead_alert", ctx, now)
        assignee = p.staff.agents.get(msg.assignee_id or "")
        extra: dict[str, Any] = {"alert_reason": msg.reason, "detail": msg.detail,
                                 "assignee_name": assignee.name if assignee else msg.assignee_id}
        return staff_intents(p, people, Notice("lead_alert", {**base, **extra}, key))
    if isinstance(msg, sla.EscalationStepFired):
        people = escalation_staff(p.staff, msg.user_ids, msg.roles, ctx, now)
        extra = {"step": str(msg.step), "escalation_reason": msg.reason, "action": msg.action}
        return staff_intents(p, people, Notice("escalation", {**base, **extra}, key))
    if isinstance(msg, sla.DeadlineReminder):
        people = deadline_staff(p.staff, ctx, now)
        extra = {"deadline": msg.deadline.isoformat(), "remaining_minutes": max(0, round(msg.remaining_seconds / 60))}
        return staff_intents(p, people, Notice("deadline_reminder", {**base, **extra}, key))
    if isinstance(msg, (sla.SlaWarning, sla.SlaBreached)):
        breached = isinstance(msg, sla.SlaBreached)
        people = sla_staff(p.staff, ctx, now, breached=breached)
        extra = {"target": msg.target, "due_at": msg.due_at.isoformat()}
        return staff_intents(p, people, Notice("sla_breached" if breached else "sla_warning", {**base, **extra}, key))
    if isinstance(msg, feedback.SurveyRequested):
        return _survey(p, msg, base, key)
    if isinstance(msg, feedback.FraudAlertRaised):
        people = named_staff(p.staff, msg.lead_ids, "fraud_alert", ctx, now)
        suspect = p.staff.agents.get(msg.suspected_agent_id or "")
        extra = {"survey_id": msg.survey_id, "suspect_name": suspect.name if suspect else msg.suspected_agent_id}
        return staff_intents(p, people, Notice("fraud_alert", {**base, **extra}, key))
    return []


def _survey(p: PlanInput, msg: feedback.SurveyRequested, base: dict[str, Any], key: str) -> list[Intent]:
    view = p.view or TicketView(ticket_id=p.env.ticket_id)
    view = view.model_copy(update={"email": msg.to_email or view.email, "phone": msg.to_phone or view.phone,
                                   "conversation_id": msg.chat_conversation_id or view.conversation_id})
    address = {"email": msg.to_email or view.email, "sms": msg.to_phone or view.phone,
               "chat": msg.chat_conversation_id or view.conversation_id}[msg.channel]
    route: tuple[ChannelName, str] | None = (msg.channel, address) if address else client_route(view)
    q = PlanInput(p.env, p.msg, view, p.staff, p.prefs, p.now, p.default_language, p.ticket_url)
    lang = client_language(q, msg.language)
    links = {a: in_language(u, lang, msg.language) for a, u in msg.links.items()}
    ctx: dict[str, Any] = {**base, "number": msg.ticket_number, "links": links, "problem": msg.problem,
                           "solution": msg.solution, "survey_id": msg.survey_id}
    buttons = [{"label": b.label, "url": in_language(b.url, lang, msg.language)}
               for b in msg.buttons]  # dropped unless the route is chat
    return client_intent(q, Notice("survey", ctx, key), route, language=lang, in_reply_to=msg.in_reply_to,
                         buttons=buttons)
