"""Survey rules and link tokens. Pure: no I/O, no clock reads (``now`` is always passed in).

A survey is created once per resolution. Its links carry one signed token per survey:
``<survey id>.<expiry unix seconds>.<HMAC-SHA256(key, survey id | ticket id | expiry)>``.
The survey id is random (unguessable), the ticket id is bound into the signature (a token is
useless for any other ticket) and the expiry cannot be moved without breaking the signature.
The answer travels next to the token in the URL: the token proves "this client, this survey";
which of the three buttons was pressed is the client's choice, so it need not be signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from shared.contracts.language import LANGUAGES, Language
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.schemas.feedback import Answer, SurveyButton, SurveyRequested
from shared.runtime.clock import as_utc

ANSWERS: tuple[Answer, ...] = get_args(Answer)
LABELS: dict[str, dict[str, str]] = {
    "ru": {"good": "Работа понравилась", "bad": "Работа не понравилась", "not_mine": "Я не оставлял это обращение"},
    "en": {"good": "The work was good", "bad": "The work was bad", "not_mine": "I did not open this request"},
}
SurveyChannel = Literal["email", "sms", "chat"]


class SurveyStatus(StrEnum):
    pending = "pending"  # links sent (or unreachable client), waiting for the answer or the timer
    answered = "answered"  # final: the first answer won
    timed_out = "timed_out"  # no answer in time: the ticket was completed without a rating
    cancelled = "cancelled"  # the ticket was reopened: a new resolution brings a new survey
    closed = "closed"  # the ticket was completed or closed some other way
    stale = "stale"  # the resolution was already superseded when we saw it: nothing was sent


# ---- tokens ------------------------------------------------------------------------------------------


class InvalidToken(ValueError):
    """The token is malformed or its signature does not match."""


@dataclass(frozen=True)
class TokenParts:
    survey_id: str
    expires: int
    signature: str

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


def _mac(key: bytes, survey_id: str, ticket_id: str, expires: int) -> str:
    msg = "\x1f".join((survey_id, ticket_id, str(expires))).encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def expiry_of(at: datetime) -> int:
    """Whole seconds, so the token stays short and the same resolution always yields the same token."""
    return int(as_utc(at).timestamp())


def sign_token(key: bytes, survey_id: str, ticket_id: str, expires_at: datetime) -> str:
    expires = expiry_of(expires_at)
    return f"{survey_id}.{expires}.{_mac(key, survey_id, ticket_id, expires)}"


def parse_token(token: str) -> TokenParts:
    """Shape only; the signature is checked once the survey's ticket id is known."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 200:
        raise InvalidToken("malformed token")
    survey_id, expires, signature = parts
    if not (survey_id.isalnum() and survey_id.isascii() and 8 <= len(survey_id) <= 64):
        raise InvalidToken("malformed survey id")
    if not (expires.isdigit() and len(expires) <= 12) or not signature:
        raise InvalidToken("malformed token")
    return TokenParts(survey_id, int(expires), signature)


def verify_token(key: bytes, parts: TokenParts, ticket_id: str) -> None:
    """Raise :class:`InvalidToken` unless the signature binds this survey, ticket and expiry."""
    if not hmac.compare_digest(_mac(key, parts.survey_id, ticket_id, parts.expires), parts.signature):
        raise InvalidToken("signature mismatch")


def page_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


# ---- the survey ------------------------------------------------------------------------------------


class FraudMark(BaseModel):
    alerted_at: datetime
    suspected_agent_id: str | None
    lead_ids: list[str] = Field(default_factory=list)
    alert_id: str


class Survey(BaseModel):
    """One survey document in ``feedback_surveys``; ``id`` is derived from the TicketResolved event id."""

    id: str
    survey_id: str = Field(description="Public, random: the id inside the link token")
    ticket_id: str
    ticket_number: int
    resolved_event_id: str
    resolved_at: datetime
    expires_at: datetime
    complete_at: datetime
    status: SurveyStatus = SurveyStatus.pending
    channel: SurveyChannel | None = Field(None, description="None: the client has no contact to send it to")
    language: Language = Field("ru", description="The ticket's language (the ledger's decision), else the default")
    url: str | None = Field(None, description="The client's own survey page (signed link); the portal shows it")
    problem: str
    solution: str
    agent_id: str | None = Field(None, description="Who resolved the ticket")
    created_by: str | None = Field(None, description="Who opened the ticket (fraud checks)")
    line: str | None = None
    group_id: str | None = None
    service_team_id: str | None = None
    client_id: str | None = None
    answer: Answer | None = None
    answered_at: datetime | None = None
    comment: str | None = None
    commented_at: datetime | None = None
    rating_command_id: str | None = None
    ledger_rating_at: datetime | None = None
    ledger_rejection: dict[str, str] | None = None
    fraud: FraudMark | None = None
    closed_reason: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python")
        doc["_id"] = doc.pop("id")
        doc["status"] = self.status.value
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Survey:
        data = {k: v for k, v in doc.items() if k not in ("_id", "outbox", "request")}
        return cls.model_validate({"id": doc["_id"], **data})


@dataclass(frozen=True)
class Route:
    channel: SurveyChannel
    to_email: str | None = None
    to_phone: str | None = None
    chat_conversation_id: str | None = None


def choose_route(ticket_channel: Channel, sender: Sender, *, conversation_id: str | None = None,
                 contact_emails: list[str] | None = None, contact_phones: list[str] | None = None) -> Route | None:
    """Chat tickets get the buttons in the chat; otherwise e-mail if we know one, else SMS, else nothing."""
    if ticket_channel == Channel.chat and (conversation_id or sender.chat_id):
        return Route("chat", chat_conversation_id=conversation_id or sender.chat_id)
    email = sender.email or next(iter(contact_emails or []), None)
    if email:
        return Route("email", to_email=email)
    phone = sender.phone or next(iter(contact_phones or []), None)
    if phone:
        return Route("sms", to_phone=phone)
    return None


@dataclass(frozen=True)
class Policy:
    key: bytes
    token_ttl: timedelta
    auto_complete_after: timedelta
    public_base_url: str
    language: Language = "ru"


@dataclass(frozen=True)
class Resolution:
    """What the survey needs from TicketResolved and the ticket it resolved."""

    event_id: str
    ticket_id: str
    ticket_number: int
    resolved_at: datetime
    agent_id: str
    problem: str
    solution: str
    created_by: str | None = None
    line: str | None = None
    group_id: str | None = None
    service_team_id: str | None = None
    client_id: str | None = None
    last_email_message_id: str | None = None
    language: Language | None = None  # the ticket's, decided once by the ledger on opening


def new_survey(res: Resolution, route: Route | None, policy: Policy, *, doc_id: str,
               public_id: str) -> tuple[Survey, SurveyRequested | None]:
    """The survey and the request notify delivers (None when there is no way to reach the client)."""
    resolved_at = as_utc(res.resolved_at)
    survey = Survey(
        id=doc_id, survey_id=public_id, ticket_id=res.ticket_id, ticket_number=res.ticket_number,
        resolved_event_id=res.event_id, resolved_at=resolved_at,
        expires_at=datetime.fromtimestamp(expiry_of(resolved_at + policy.token_ttl), UTC),
        complete_at=resolved_at + policy.auto_complete_after, channel=route.channel if route else None,
        language=res.language or policy.language, problem=res.problem, solution=res.solution, agent_id=res.agent_id,
        created_by=res.created_by, line=res.line, group_id=res.group_id, service_team_id=res.service_team_id,
        client_id=res.client_id)
    survey.url = survey_page(survey, policy)
    if route is None:
        return survey, None
    links = survey_links(survey, policy)
    buttons = [SurveyButton(answer=a, label=LABELS[survey.language][a], url=links[a]) for a in ANSWERS] \
        if route.channel == "chat" else []
    request = SurveyRequested(
        survey_id=survey.survey_id, ticket_number=survey.ticket_number, channel=route.channel,
        language=survey.language, to_email=route.to_email, to_phone=route.to_phone,
        chat_conversation_id=route.chat_conversation_id, links=links, problem=survey.problem,
        solution=survey.solution, in_reply_to=res.last_email_message_id if route.channel == "email" else None,
        buttons=buttons, expires_at=survey.expires_at)
    return survey, request


def survey_page(survey: Survey, policy: Policy) -> str:
    """The page with the three answers (or the answer given): the link the portal shows the ticket's client."""
    return page_url(policy.public_base_url, sign_token(policy.key, survey.survey_id, survey.ticket_id,
                                                       survey.expires_at))


def survey_links(survey: Survey, policy: Policy) -> dict[str, str]:
    page = survey_page(survey, policy)
    return {a: f"{page}/{a}" for a in ANSWERS}


# ---- answering --------------------------------------------------------------------------------------


class Refused(Exception):
    """Why an answer (or a comment) is not taken; ``status`` is the HTTP status of the page."""

    def __init__(self, code: str, status: int, survey: Survey | None = None) -> None:
        super().__init__(code)
        self.code, self.status, self.survey = code, status, survey


INVALID = Refused("invalid_link", 403)


def check_token(key: bytes, parts: TokenParts, survey: Survey | None, now: datetime) -> Survey:
    """Forged before expired: an expired link only says "expired" if it is genuine."""
    if survey is None:
        raise INVALID
    try:
        verify_token(key, parts, survey.ticket_id)
    except InvalidToken:
        raise INVALID from None
    if parts.expires != expiry_of(survey.expires_at):
        raise INVALID  # a genuine but superseded token (e.g. signed with a different TTL) is not honoured
    if as_utc(now) >= parts.expires_at:
        raise Refused("expired", 410)
    return survey


def check_answer(survey: Survey, ticket_status: str | None) -> None:
    """The first answer is final; only a pending survey of a resolved ticket takes one."""
    if survey.status == SurveyStatus.answered:
        raise Refused("already_answered", 409)
    if survey.status in (SurveyStatus.timed_out, SurveyStatus.closed, SurveyStatus.stale):
        raise Refused("survey_closed", 410)
    if ticket_status != "resolved":
        raise Refused("not_resolved", 409)
    if survey.status != SurveyStatus.pending:
        raise Refused("survey_closed", 409)  # reopened and resolved again: the newer survey asks now


def check_comment(survey: Survey, text: str, max_chars: int) -> str:
    """A comment follows an answer, once; blank comments are not stored."""
    if survey.status != SurveyStatus.answered:
        raise Refused("not_answered", 409)
    if survey.comment is not None:
        raise Refused("already_commented", 409)
    cleaned = text.strip()
    if not cleaned:
        raise Refused("empty_comment", 422)
    if len(cleaned) > max_chars:
        raise Refused("comment_too_long", 422)
    return cleaned


def pick_language(requested: str | None, accept_language: str | None, default: Language,
                  survey: Language | None = None) -> Language:
    """?lang= (the page's switch) first, then the survey's (the ticket's), then the browser's, then the default."""
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    if survey is not None:
        return survey
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag  # type: ignore[return-value]
    return default


# ---- who hears about a "not mine" ------------------------------------------------------------------


def lead_ids_for(team_members: list[tuple[str, str]], group_lead_ids: list[str],
                 line_leads: list[str]) -> list[str]:
    """Team leads of the client's service team and the group's leads; the line's team leads only if neither has any.

    ``team_members`` are (agent id, role) pairs.
    """
    leads = [agent for agent, role in team_members if role == "team_lead"] + list(group_lead_ids)
    if not leads:
        leads = list(line_leads)
    return list(dict.fromkeys(leads))


def csat(good: int, bad: int) -> float | None:
    """Share of good among good and bad; "not mine" is a fraud signal, not a satisfaction score."""
    return good / (good + bad) if good + bad else None
