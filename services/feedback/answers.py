"""Taking a client's answer and comment: token check, compare-and-set, then the outbox goes out.

There is deliberately no operation that changes an answer: the compare-and-set only matches a
pending, unanswered survey, and the ledger itself refuses a second rating (``already_rated``).
"""

from __future__ import annotations

from typing import cast

from shared.contracts.envelope import caused_id, envelope_for
from shared.contracts.schemas import feedback, tickets
from shared.contracts.schemas.feedback import Answer
from shared.contracts.topics import FEEDBACK_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import Clock

from .domain import (
    ANSWERS,
    INVALID,
    InvalidToken,
    Policy,
    Refused,
    Survey,
    check_answer,
    check_comment,
    check_token,
    parse_token,
)
from .handlers import ANSWERS as ANSWER_COUNT
from .handlers import REFUSALS, Publisher, outbox_item, timer_id
from .store import SurveyStore

CLIENT = "client"


class AnswerService:
    def __init__(self, store: SurveyStore, publisher: Publisher, clock: Clock, policy: Policy,
                 max_comment_chars: int) -> None:
        self.store, self.publisher, self.clock, self.policy = store, publisher, clock, policy
        self.max_comment_chars = max_comment_chars

    async def survey_for(self, token: str) -> Survey:
        """The survey a genuine, unexpired token points at; Refused otherwise."""
        try:
            parts = parse_token(token)
        except InvalidToken:
            raise self._refused(INVALID) from None
        survey = await self.store.by_public_id(parts.survey_id)
        try:
            return check_token(self.policy.key, parts, survey, self.clock.now())
        except Refused as exc:
            raise self._refused(exc) from None

    async def answerable(self, token: str) -> Survey:
        survey = await self.survey_for(token)
        try:
            check_answer(survey, await self.store.ticket_status(survey.ticket_id))
        except Refused as exc:
            raise self._refused(exc, survey) from None
        return survey

    async def answer(self, token: str, answer: str) -> Survey:
        if answer not in ANSWERS:
            raise self._refused(Refused("unknown_answer", 404))
        choice = cast(Answer, answer)
        survey = await self.answerable(token)
        now = self.clock.now()
        rating = envelope_for(tickets.RecordRating(survey_id=survey.survey_id, answer=choice), survey.ticket_id,
                              occurred_at=now, actor=CLIENT, id=caused_id(survey.id, "rating"))
        answered = envelope_for(feedback.SurveyAnswered(survey_id=survey.survey_id, answer=choice),
                                survey.ticket_id, occurred_at=now, actor=CLIENT, id=caused_id(survey.id, "answered"))
        outbox = [outbox_item(TICKETS_COMMANDS, rating), outbox_item(FEEDBACK_EVENTS, answered)]
        with self.publisher.holding(survey.id):
            recorded = await self.store.record_answer(survey, choice, now, rating.id, outbox)
            if recorded is None:  # someone (a second click, the timer) got there first
                latest = await self.store.by_id(survey.id) or survey
                try:
                    check_answer(latest, "resolved")
                except Refused as exc:
                    raise self._refused(exc, latest) from None
                raise self._refused(Refused("already_answered", 409), latest)
            await self.store.timers.cancel(timer_id(recorded))
            await self.publisher.flush(recorded.id, outbox)
        ANSWER_COUNT.labels(answer).inc()
        return recorded

    async def comment(self, token: str, text: str) -> Survey:
        survey = await self.survey_for(token)
        try:
            cleaned = check_comment(survey, text, self.max_comment_chars)
        except Refused as exc:
            raise self._refused(exc, survey) from None
        assert survey.answer is not None
        now = self.clock.now()
        commented = feedback.SurveyCommented(survey_id=survey.survey_id, answer=survey.answer, comment=cleaned)
        event = envelope_for(commented, survey.ticket_id, occurred_at=now, actor=CLIENT,
                             id=caused_id(survey.id, "commented"))
        note = envelope_for(tickets.AddNote(author_id=CLIENT, text=f"Client comment on the rating ({survey.answer}): "
                                                                  f"{cleaned}"),
                            survey.ticket_id, occurred_at=now, actor=CLIENT, id=caused_id(survey.id, "comment-note"))
        with self.publisher.holding(survey.id):
            recorded = await self.store.record_comment(
                survey, cleaned, now, [outbox_item(FEEDBACK_EVENTS, event), outbox_item(TICKETS_COMMANDS, note)])
            if recorded is None:
                raise self._refused(Refused("already_commented", 409), survey)
            await self.publisher.flush(recorded.id)
        return recorded

    @staticmethod
    def _refused(exc: Refused, survey: Survey | None = None) -> Refused:
        REFUSALS.labels(exc.code).inc()
        return Refused(exc.code, exc.status, survey)
