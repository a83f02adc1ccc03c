"""The client's answer to a survey has one model (shared/contracts/schemas/feedback.py): feedback's events and the
ledger's rating command and event are built on it, and records written before still parse to the same JSON."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.schemas import feedback, tickets

OLD_RECORDS: list[tuple[type[Any], dict[str, Any]]] = [
    (feedback.SurveyAnswered, {"survey_id": "s1", "answer": "good", "comment": None}),
    (feedback.SurveyCommented, {"survey_id": "s1", "answer": "bad", "comment": "slow"}),
    (tickets.RecordRating, {"survey_id": "s1", "answer": "not_mine", "comment": "who is this"}),
    (tickets.RatingRecorded, {"survey_id": "s1", "answer": "good", "comment": None, "agent_id": "a1",
                              "created_by": None}),
]


@pytest.mark.parametrize(("model", "payload"), OLD_RECORDS, ids=lambda v: getattr(v, "__name__", ""))
def test_records_written_before_parse_to_the_same_json(model: type[Any], payload: dict[str, Any]) -> None:
    assert model.model_validate(payload).model_dump(mode="json") == payload


@pytest.mark.parametrize("model", [feedback.SurveyAnswered, feedback.SurveyCommented, tickets.RecordRating,
                                   tickets.RatingRecorded])
def test_every_answer_is_the_one_survey_answer(model: type[Any]) -> None:
    assert issubclass(model, feedback.SurveyAnswer)
    assert model.model_fields["answer"].annotation is feedback.Answer
    assert not hasattr(tickets, "RatingAnswer")


def test_the_rating_command_still_bounds_the_comment() -> None:
    with pytest.raises(ValueError):
        tickets.RecordRating(survey_id="s1", answer="good", comment="x" * 5001)
