"""Classification tree checks and urgency rules."""

from __future__ import annotations

from services.intake.classify import all_errors, classification_errors, urgency_of
from shared.directory.classification import Subtopic, Topic, TopicType, UrgencyRule
from shared.schemas.common import Classification, TicketType

TREE = [
    Topic(id="tariffs", product_required=True,
          types=[TopicType(type=TicketType.consultation, subtopics=[Subtopic(id="price")])]),
    Topic(id="internet", types=[TopicType(type=TicketType.request, subtopics=[Subtopic(id="outage")])]),
    Topic(id="old", active=False),
]


def c(**kw: str) -> Classification:
    return Classification(**kw)


def test_valid_choices_pass() -> None:
    assert classification_errors(TREE, c(topic="internet", type="request", subtopic="outage")) == []
    assert classification_errors(TREE, c(topic="tariffs", type="consultation", product="Unlimited")) == []
    assert classification_errors(TREE, c(topic="internet")) == []
    assert classification_errors(TREE, c()) == []


def test_invalid_choices_say_why() -> None:
    assert classification_errors(TREE, c(topic="tariffs", type="consultation")) == [
        "topic 'tariffs' requires a product"]
    assert classification_errors(TREE, c(topic="astrology")) == ["unknown topic 'astrology'"]
    assert classification_errors(TREE, c(topic="old")) == ["unknown topic 'old'"]
    assert "not allowed" in classification_errors(TREE, c(topic="internet", type="complaint"))[0]
    assert classification_errors(TREE, c(topic="internet", type="request", subtopic="x")) == [
        "unknown subtopic 'x' under 'internet' / 'request'"]
    assert classification_errors(TREE, c(type="request")) == ["a classification needs a topic"]
    assert len(all_errors(TREE, [None, c(topic="a"), c(topic="b")])) == 2


def test_urgency_comes_from_rules_only() -> None:
    rules = [UrgencyRule(id="b", urgency="high", topics=["internet"], order=2),
             UrgencyRule(id="a", urgency="urgent", keywords=["No Connection", "нет связи"], order=1)]
    assert urgency_of(rules, "We have NO CONNECTION since 9", []) == "urgent"
    assert urgency_of(rules, "У нас нет связи", []) == "urgent"
    assert urgency_of(rules, "slow", ["internet"]) == "high"
    assert urgency_of(rules, "slow", ["tariffs"]) == "normal"
    assert urgency_of([], "no connection", []) == "normal"
