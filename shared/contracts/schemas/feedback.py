"""``feedback.events``: surveys to send (notify delivers), answers, fraud alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Message, message

Answer = Literal["good", "bad", "not_mine"]


class SurveyAnswer(Message):
    """The client's answer to a survey, the one model of it: feedback publishes it, the ledger records it as the
    ticket's rating (``RecordRating`` / ``RatingRecorded`` build on it)."""

    survey_id: str
    answer: Answer
    comment: str | None = None


class SurveyButton(BaseModel):
    """One chat button: the platform shows ``label`` and opens ``url``."""

    model_config = ConfigDict(extra="forbid")
    answer: Answer
    label: str
    url: str


@message("SurveyRequested")
class SurveyRequested(Message):
    survey_id: str
    ticket_number: int
    channel: Literal["email", "sms", "chat"]
    language: Literal["ru", "en"] = "ru"
    to_email: str | None = None
    to_phone: str | None = None
    chat_conversation_id: str | None = None
    links: dict[str, str] = Field(description="answer → signed URL")
    problem: str
    solution: str
    in_reply_to: str | None = Field(None, description="Client's last e-mail Message-ID, to thread the survey")
    buttons: list[SurveyButton] = Field(default_factory=list, description="Chat: the three answer buttons")
    expires_at: datetime | None = Field(None, description="When the links stop working")


@message("SurveyAnswered")
class SurveyAnswered(SurveyAnswer):
    """The client answered (the comment, if any, follows as SurveyCommented)."""


@message("FraudAlertRaised")
class FraudAlertRaised(Message):
    survey_id: str
    suspected_agent_id: str | None = Field(description="Who opened the ticket in the client's name")
    lead_ids: list[str] = Field(default_factory=list)
    service_team_id: str | None = None
    ticket_number: int | None = None
    resolved_by: str | None = Field(None, description="Agent who resolved the ticket")
    line: str | None = None
    group_id: str | None = None


@message("SurveyCommented")
class SurveyCommented(SurveyAnswer):
    """The client's optional free-text comment after answering (stored once)."""

    comment: str
