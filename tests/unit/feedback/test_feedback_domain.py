"""Survey rules and link tokens, without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.domain import (
    ANSWERS,
    INVALID,
    InvalidToken,
    Policy,
    Refused,
    Resolution,
    Survey,
    SurveyStatus,
    check_answer,
    check_comment,
    check_token,
    choose_route,
    csat,
    lead_ids_for,
    new_survey,
    parse_token,
    pick_language,
    sign_token,
    verify_token,
)
from shared.contracts.schemas.common import Channel, Sender

KEY = b"unit-test-key-0123456789"
T0 = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
POLICY = Policy(key=KEY, token_ttl=timedelta(days=2), auto_complete_after=timedelta(days=2),
                public_base_url="https://fb.example/", language="en")
RES = Resolution(event_id="ev-1", ticket_id="T-1", ticket_number=42, resolved_at=T0, agent_id="anna",
                 problem="No internet", solution="Reset the port", created_by="oleg", line="first", group_id="g-1",
                 last_email_message_id="<m1@client>")


def make(route_channel: Channel = Channel.email, sender: Sender | None = None) -> tuple[Survey, object]:
    route = choose_route(route_channel, sender or Sender(email="a@client.example"))
    return new_survey(RES, route, POLICY, doc_id="doc-1", public_id="ab" * 16)


def token_of(survey: Survey) -> str:
    return sign_token(KEY, survey.survey_id, survey.ticket_id, survey.expires_at)


# ---- tokens ------------------------------------------------------------------------------------------


def test_token_round_trip_binds_survey_ticket_and_expiry() -> None:
    token = sign_token(KEY, "ab" * 16, "T-1", T0)
    parts = parse_token(token)
    assert parts.survey_id == "ab" * 16 and parts.expires == int(T0.timestamp())
    verify_token(KEY, parts, "T-1")
    with pytest.raises(InvalidToken):
        verify_token(KEY, parts, "T-2")  # useless for any other ticket
    with pytest.raises(InvalidToken):
        verify_token(b"another-key-0123456789", parts, "T-1")
    moved = parse_token(f"{parts.survey_id}.{parts.expires + 3600}.{parts.signature}")
    with pytest.raises(InvalidToken):
        verify_token(KEY, moved, "T-1")  # the expiry cannot be extended


@pytest.mark.parametrize("bad", ["", "abc", "a.b", "a.b.c.d", "zz$%.1.sig", f"{'a' * 32}.soon.sig",
                                 f"{'a' * 32}.123.", "x" * 300, f"{'я' * 32}.1.sig"])
def test_malformed_tokens_are_invalid(bad: str) -> None:
    with pytest.raises(InvalidToken):
        parse_token(bad)


def test_check_token_forged_before_expired() -> None:
    survey, _ = make()
    good = parse_token(token_of(survey))
    assert check_token(KEY, good, survey, T0) is survey
    assert check_token(KEY, good, survey, survey.expires_at - timedelta(seconds=1)) is survey
    with pytest.raises(Refused) as exc:
        check_token(KEY, good, survey, survey.expires_at)
    assert (exc.value.code, exc.value.status) == ("expired", 410)
    forged = parse_token(f"{good.survey_id}.{good.expires}.{'A' * len(good.signature)}")
    for parts, found in ((forged, survey), (good, None)):
        with pytest.raises(Refused) as exc:
            check_token(KEY, parts, found, survey.expires_at + timedelta(days=9))
        assert exc.value is INVALID and exc.value.status == 403


# ---- the survey ----------------------------------------------------------------------------------


def test_new_survey_links_and_timing() -> None:
    survey, request = make()
    assert survey.ticket_number == 42 and survey.status == SurveyStatus.pending and survey.channel == "email"
    assert survey.complete_at == T0 + timedelta(days=2)
    assert survey.expires_at == (T0 + timedelta(days=2)).replace(microsecond=0)
    assert request is not None
    token = token_of(survey)
    assert request.links == {a: f"https://fb.example/s/{token}/{a}" for a in ANSWERS}
    assert request.in_reply_to == "<m1@client>" and request.to_email == "a@client.example"
    assert request.problem == "No internet" and request.solution == "Reset the port" and not request.buttons
    again, request2 = make()
    assert again == survey and request2 == request  # the same resolution always yields the same links


def test_chat_gets_three_labelled_buttons() -> None:
    survey, request = make(Channel.chat, Sender(chat_id="tg:7", email="a@client.example"))
    assert request is not None and request.channel == "chat" and request.chat_conversation_id == "tg:7"
    assert [(b.answer, b.label) for b in request.buttons] == [
        ("good", "The work was good"), ("bad", "The work was bad"), ("not_mine", "I did not open this request")]
    assert request.in_reply_to is None


def test_no_contact_no_request() -> None:
    survey, request = new_survey(RES, None, POLICY, doc_id="d", public_id="cd" * 16)
    assert request is None and survey.channel is None and survey.status == SurveyStatus.pending


@pytest.mark.parametrize(("channel", "sender", "kw", "expected"), [
    (Channel.chat, Sender(chat_id="tg:1"), {}, ("chat", "tg:1")),
    (Channel.chat, Sender(chat_id="tg:1"), {"conversation_id": "conv-9"}, ("chat", "conv-9")),
    (Channel.chat, Sender(email="a@x.org"), {}, ("email", "a@x.org")),  # a chat without a conversation: e-mail
    (Channel.email, Sender(email="a@x.org", phone="+7900"), {}, ("email", "a@x.org")),
    (Channel.web, Sender(chat_id="tg:1"), {"contact_emails": ["c@x.org"]}, ("email", "c@x.org")),
    (Channel.phone, Sender(phone="+7900"), {"contact_emails": []}, ("sms", "+7900")),
    (Channel.web, Sender(), {"contact_phones": ["+7911"]}, ("sms", "+7911")),
    (Channel.web, Sender(name="x"), {}, None),
])
def test_route(channel: Channel, sender: Sender, kw: dict[str, object], expected: tuple[str, str] | None) -> None:
    route = choose_route(channel, sender, **kw)  # type: ignore[arg-type]
    if expected is None:
        assert route is None
    else:
        assert route is not None
        address = {"chat": route.chat_conversation_id, "email": route.to_email, "sms": route.to_phone}[route.channel]
        assert (route.channel, address) == expected


# ---- answering ---------------------------------------------------------------------------------------


def test_only_a_pending_survey_of_a_resolved_ticket_takes_an_answer() -> None:
    survey, _ = make()
    check_answer(survey, "resolved")
    cases = [
        (SurveyStatus.answered, "completed", ("already_answered", 409)),
        (SurveyStatus.timed_out, "completed", ("survey_closed", 410)),
        (SurveyStatus.closed, "closed", ("survey_closed", 410)),
        (SurveyStatus.pending, "in_progress", ("not_resolved", 409)),
        (SurveyStatus.pending, None, ("not_resolved", 409)),
        (SurveyStatus.cancelled, "in_progress", ("not_resolved", 409)),
        (SurveyStatus.cancelled, "resolved", ("survey_closed", 409)),
    ]
    for status, ticket_status, expected in cases:
        with pytest.raises(Refused) as exc:
            check_answer(survey.model_copy(update={"status": status}), ticket_status)
        assert (exc.value.code, exc.value.status) == expected, (status, ticket_status)


def test_comment_once_after_an_answer() -> None:
    survey, _ = make()
    with pytest.raises(Refused, match="not_answered"):
        check_comment(survey, "hi", 100)
    answered = survey.model_copy(update={"status": SurveyStatus.answered, "answer": "good"})
    assert check_comment(answered, "  thanks!  ", 100) == "thanks!"
    for text, code in (("   ", "empty_comment"), ("x" * 101, "comment_too_long")):
        with pytest.raises(Refused, match=code):
            check_comment(answered, text, 100)
    with pytest.raises(Refused, match="already_commented"):
        check_comment(answered.model_copy(update={"comment": "earlier"}), "again", 100)


def test_survey_doc_round_trip() -> None:
    survey, _ = make()
    doc = survey.to_doc()
    assert doc["_id"] == "doc-1" and doc["status"] == "pending" and doc["answer"] is None
    assert Survey.from_doc({**doc, "outbox": [], "request": None}) == survey


def test_language_choice() -> None:
    # the survey's language (the ticket's) beats the browser's; only the page's own ?lang= switch beats it
    assert pick_language(None, "ru-RU,ru;q=0.9", "ru", survey="en") == "en"
    assert pick_language("ru", "en-GB", "en", survey="en") == "ru"
    # no survey to go by (an invalid link): the browser's language, else the default
    assert pick_language("en", "ru-RU", "ru") == "en"
    assert pick_language("de", "de-DE,en-GB;q=0.8", "ru") == "en"
    assert pick_language(None, "ru-RU,ru;q=0.9", "en") == "ru"
    assert pick_language(None, None, "ru") == "ru"


def test_the_survey_speaks_the_tickets_language_and_knows_its_page() -> None:
    russian_default = replace(POLICY, language="ru")
    route = choose_route(Channel.chat, Sender(chat_id="tg:1"))
    survey, request = new_survey(replace(RES, language="en"), route, russian_default, doc_id="d", public_id="cd" * 16)
    assert request is not None
    assert survey.language == request.language == "en"
    assert request.buttons[2].label == "I did not open this request"
    assert survey.url == f"https://fb.example/s/{token_of(survey)}"
    assert set(request.links.values()) == {f"{survey.url}/{a}" for a in ANSWERS}
    unknown, _ = new_survey(RES, None, russian_default, doc_id="d2", public_id="ef" * 16)
    assert unknown.language == "ru" and unknown.url is not None  # nothing decided: the default; no route: a page


def test_leads_and_csat() -> None:
    members = [("lead-1", "team_lead"), ("spec", "specialist"), ("lead-3", "team_lead")]
    assert lead_ids_for(members, ["lead-2", "lead-1"], ["line-lead"]) == ["lead-1", "lead-3", "lead-2"]
    assert lead_ids_for([("spec", "specialist")], [], ["line-lead"]) == ["line-lead"]
    assert lead_ids_for([], [], []) == []
    assert csat(3, 1) == 0.75 and csat(0, 0) is None and csat(0, 2) == 0.0
