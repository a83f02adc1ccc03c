"""``tickets.events`` → surveys; durable auto-complete timers; the outbox that publishes answers.

Every effect is idempotent: the survey document's id comes from the TicketResolved event id,
every envelope we publish has an id derived from its cause, and publishing happens after the
state change is stored (outbox), so a crash between the two republishes the same ids.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import Counter

from shared.contracts.envelope import Envelope, Message, caused_id, envelope_for
from shared.contracts.schemas import feedback, tickets
from shared.contracts.topics import FEEDBACK_EVENTS, TICKETS_COMMANDS, TopicSpec
from shared.runtime.clock import Clock, as_utc
from shared.runtime.kafka import KafkaBus
from shared.runtime.logging import correlation_id_var, ticket_id_var
from shared.runtime.timers import Timer

from .domain import Policy, Resolution, Survey, SurveyStatus, choose_route, lead_ids_for, new_survey
from .store import Directories, SurveyStore

log = logging.getLogger(__name__)

AUTO_COMPLETE = "auto_complete"
ACTOR = "feedback"
TOPICS: dict[str, TopicSpec] = {"tickets.commands": TICKETS_COMMANDS, "feedback.events": FEEDBACK_EVENTS}

SURVEYS_CREATED = Counter("frontline_feedback_surveys_total", "Surveys created", ["channel"])
ANSWERS = Counter("frontline_feedback_answers_total", "Survey answers recorded", ["answer"])
REFUSALS = Counter("frontline_feedback_refusals_total", "Answers or comments refused", ["code"])
FRAUD_ALERTS = Counter("frontline_feedback_fraud_alerts_total", "Fraud alerts raised")
AUTO_COMPLETED = Counter("frontline_feedback_auto_completed_total", "Tickets completed without a rating")


def timer_id(survey: Survey) -> str:
    return caused_id(survey.id, "auto-complete")


def outbox_item(spec: TopicSpec, env: Envelope) -> dict[str, Any]:
    return {"topic": spec.name, "env": env.model_dump(mode="json")}


class Publisher:
    """Publishes a survey's outbox, then drops what went out."""

    def __init__(self, store: SurveyStore, bus: KafkaBus) -> None:
        self.store, self.bus = store, bus
        self._in_flight: set[str] = set()

    @contextlib.contextmanager
    def holding(self, doc_id: str) -> Iterator[None]:
        """While a request stores and publishes its own outbox, the sweeper leaves it alone."""
        self._in_flight.add(doc_id)
        try:
            yield
        finally:
            self._in_flight.discard(doc_id)

    async def flush(self, doc_id: str, items: list[dict[str, Any]] | None = None) -> int:
        """``items``: the outbox as the caller just stored it (else read)."""
        if items is None:
            items = await self.store.outbox(doc_id)
        for item in items:
            await self.bus.publish(TOPICS[item["topic"]], Envelope.model_validate(item["env"]))
        if items:
            await self.store.clear_outbox(doc_id, items)
        return len(items)

    async def sweep(self) -> int:
        """Outboxes a crashed request left behind (not those a request of ours is publishing right now)."""
        n = 0
        for doc_id in await self.store.with_outbox():
            if doc_id not in self._in_flight:
                with self.holding(doc_id):
                    n += await self.flush(doc_id)
        return n


class FeedbackHandler:
    def __init__(self, store: SurveyStore, directories: Directories, bus: KafkaBus, clock: Clock,
                 policy: Policy) -> None:
        self.store, self.directories, self.bus, self.clock, self.policy = store, directories, bus, clock, policy

    async def __call__(self, delivery: tuple[Envelope, Message]) -> None:
        env, msg = delivery
        ticket_id_var.set(env.ticket_id)
        correlation_id_var.set(env.correlation_id or env.id)
        if isinstance(msg, tickets.TicketResolved):
            await self.on_resolved(env, msg)
        elif isinstance(msg, tickets.RatingRecorded):
            await self.on_rating(env, msg)
        elif isinstance(msg, tickets.TicketReopened):
            await self._close(env.ticket_id, SurveyStatus.cancelled, "reopened")
        elif isinstance(msg, tickets.TicketCompleted) and msg.reason != "rated":
            await self._close(env.ticket_id, SurveyStatus.closed, f"completed: {msg.reason}")
        elif isinstance(msg, tickets.TicketClosed):
            await self._close(env.ticket_id, SurveyStatus.closed, "closed")
        elif isinstance(msg, tickets.CommandRejected) and msg.command_type == "RecordRating":
            if await self.store.mark_rejected(msg.command_id, msg.code, msg.reason):
                log.warning("ledger refused a rating", extra={"code": msg.code, "reason": msg.reason})

    # ---- a resolution asks for a rating -------------------------------------------------------------

    async def on_resolved(self, env: Envelope, msg: tickets.TicketResolved) -> None:
        doc_id = caused_id(env, "survey")
        # A redelivery builds the survey again and its insert finds the first one (``SurveyStore.create``).
        ticket = await self.store.ticket(env.ticket_id)
        if ticket is None:
            raise RuntimeError(f"ticket {env.ticket_id} not readable yet")  # the consumer retries
        if ticket.get("parent_id"):
            # A development sub-ticket: no client asked for it, so nobody is surveyed (and no "not mine"
            # can accuse its opener); it is done when it is resolved. Same id on redelivery.
            await self.bus.publish(TICKETS_COMMANDS, envelope_for(
                tickets.CompleteTicket(reason="internal"), env.ticket_id, occurred_at=env.occurred_at, cause=env,
                actor=ACTOR, id=caused_id(env, "complete-internal")))
            return
        res = _resolution(env, msg, ticket)
        conversations = list(ticket.get("conversation_ids") or [])
        conversation = conversations[-1] if conversations else None
        route = choose_route(msg.channel, msg.sender, conversation_id=conversation)
        if route is None or route.channel == "sms":  # only then could the contact's e-mail or phone change it
            contact = await self.directories.contact(msg.client.contact_id if msg.client else None)
            if contact is not None:
                route = choose_route(msg.channel, msg.sender, conversation_id=conversation,
                                     contact_emails=contact.emails, contact_phones=contact.phones)
        survey, request = new_survey(res, route, self.policy, doc_id=doc_id, public_id=secrets.token_hex(16))
        if not _is_current(ticket, env):
            survey.status, survey.closed_reason = SurveyStatus.stale, "resolution superseded before the survey"
            request = None
        req_env = envelope_for(request, env.ticket_id, occurred_at=env.occurred_at, cause=env, actor=ACTOR,
                               id=caused_id(env, "survey-requested")) if request else None
        # The public id is random: on a race with ourselves the first insert wins and its id is reused.
        stored, request_env = await self.store.create(survey, req_env)
        if stored is survey:  # not a redelivery's
            SURVEYS_CREATED.labels(survey.channel or "none").inc()
            if survey.channel is None:
                log.warning("resolved ticket has no contact to survey; it completes on the timer")
        survey = stored
        # the idempotent steps, again on a redelivery
        if survey.status != SurveyStatus.pending:
            return
        await self.store.timers.schedule(timer_id(survey), survey.ticket_id, survey.complete_at, AUTO_COMPLETE,
                                         {"survey": survey.id})
        if request_env is not None:
            await self.bus.publish(FEEDBACK_EVENTS, request_env)

    # ---- the ledger recorded a rating -------------------------------------------------------------

    async def on_rating(self, env: Envelope, msg: tickets.RatingRecorded) -> None:
        if msg.answer != "not_mine":
            return  # the survey took the answer already; the ledger keeps the rating
        survey = await self.store.by_public_id(msg.survey_id)
        ticket = await self.store.ticket(env.ticket_id) or {}
        team_id = (survey.service_team_id if survey else None) or ticket.get("service_team_id")
        group_id = (survey.group_id if survey else None) or ticket.get("group_id")
        line = (survey.line if survey else None) or ticket.get("line")
        team = await self.directories.team(team_id)
        group = await self.directories.group(group_id)
        leads = lead_ids_for([(m.agent_id, m.role.value) for m in (team.members if team else [])],
                             group.lead_ids if group else [], await self.directories.line_leads(line))
        alert = feedback.FraudAlertRaised(
            survey_id=msg.survey_id, suspected_agent_id=msg.created_by, lead_ids=leads, service_team_id=team_id,
            ticket_number=survey.ticket_number if survey else ticket.get("number"), resolved_by=msg.agent_id,
            line=line, group_id=group_id)
        alert_env = envelope_for(alert, env.ticket_id, occurred_at=env.occurred_at, cause=env, actor=ACTOR,
                                 id=caused_id(env, "fraud-alert"))
        if survey is not None:
            await self.store.mark_fraud(survey.id, {"alerted_at": env.occurred_at, "alert_id": alert_env.id,
                                                    "suspected_agent_id": msg.created_by, "lead_ids": leads})
        await self.bus.publish(FEEDBACK_EVENTS, alert_env)
        FRAUD_ALERTS.inc()
        log.warning("fraud alert: client did not open this request",
                    extra={"suspected_agent_id": msg.created_by, "lead_ids": leads})

    async def _close(self, ticket_id: str, status: SurveyStatus, reason: str) -> None:
        if await self.store.close_pending(ticket_id, status, reason):
            await self.store.timers.cancel_for_ticket(ticket_id, [AUTO_COMPLETE])

    # ---- no answer in time ------------------------------------------------------------------------

    async def fire(self, timer: Timer) -> None:
        if timer.kind != AUTO_COMPLETE:
            return
        if not await self.store.time_out(timer.data["survey"]):
            return  # answered, reopened or closed meanwhile
        cmd = envelope_for(tickets.CompleteTicket(reason="no_rating_timeout"), timer.ticket_id,
                           occurred_at=self.clock.now(), actor=ACTOR, id=caused_id(timer.id, "complete"))
        await self.bus.publish(TICKETS_COMMANDS, cmd)
        AUTO_COMPLETED.inc()


def _resolution(env: Envelope, msg: tickets.TicketResolved, ticket: dict[str, Any]) -> Resolution:
    mail_ids = list(ticket.get("email_message_ids") or [])
    return Resolution(
        event_id=env.id, ticket_id=env.ticket_id, ticket_number=int(ticket["number"]),
        resolved_at=env.occurred_at, agent_id=msg.agent_id, problem=msg.problem, solution=msg.solution,
        created_by=ticket.get("created_by"), line=ticket.get("line"), group_id=ticket.get("group_id"),
        service_team_id=ticket.get("service_team_id") or (msg.client.service_team_id if msg.client else None),
        client_id=msg.client.client_id if msg.client else None,
        last_email_message_id=mail_ids[-1] if mail_ids else None, language=ticket.get("language"))


def _is_current(ticket: dict[str, Any], env: Envelope) -> bool:
    """The ledger document still shows this resolution (not reopened, re-resolved or completed since)."""
    resolved_at = ticket.get("resolved_at")
    if ticket.get("status") != "resolved" or resolved_at is None:
        return False
    return abs(as_utc(resolved_at) - as_utc(env.occurred_at)) < timedelta(milliseconds=2)

