"""Classification tree checks and urgency rules."""

from __future__ import annotations

from services.intake.classify import all_errors, classification_errors, urgency_of, with_service
from shared.contracts.schemas.common import Classification, TicketType
from shared.directory.classification import (
    NodeRouting,
    Subtopic,
    Topic,
    TopicType,
    UrgencyRule,
    node_routing,
    urgency_line,
)

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


# ---- what the tree's nodes and the urgency rules name for routing -------------------------------------------

ROUTED = [
    Topic(id="internet", service_id="internet", line="first", types=[
        TopicType(type=TicketType.complaint, line="second", subtopics=[
            Subtopic(id="no_connection", sub_service_id="fiber"), Subtopic(id="low_speed", line="third")]),
        TopicType(type=TicketType.request, sub_service_id="internet-orders", subtopics=[
            Subtopic(id="tariff_change", line="commercial", service_id="tariffs")])]),
    Topic(id="retired", active=False, line="second", service_id="legacy"),
]


def test_the_deepest_node_naming_a_line_or_service_wins() -> None:
    assert node_routing(ROUTED, c(topic="internet")) == NodeRouting("first", "internet", None)
    assert node_routing(ROUTED, c(topic="internet", type="complaint")) == NodeRouting("second", "internet", None)
    assert node_routing(ROUTED, c(topic="internet", type="complaint", subtopic="no_connection")) == NodeRouting(
        "second", "internet", "fiber")  # a sub-service alone keeps the parent's service
    assert node_routing(ROUTED, c(topic="internet", type="complaint", subtopic="low_speed")) == NodeRouting(
        "third", "internet", None)
    # a node naming a service drops the sub-service of the parent's service
    assert node_routing(ROUTED, c(topic="internet", type="request", subtopic="tariff_change")) == NodeRouting(
        "commercial", "tariffs", None)
    assert node_routing(ROUTED, c(topic="internet", type="request")) == NodeRouting(
        "first", "internet", "internet-orders")


def test_unknown_nodes_add_nothing_and_retired_topics_still_route() -> None:
    assert node_routing(ROUTED, None) == NodeRouting()
    assert node_routing(ROUTED, c(service_id="x")) == NodeRouting()
    assert node_routing(ROUTED, c(topic="astrology")) == NodeRouting()
    assert node_routing(ROUTED, c(topic="internet", type="consultation", subtopic="x")) == NodeRouting(
        "first", "internet", None)
    assert node_routing(ROUTED, c(topic="internet", type="complaint", subtopic="x")).line == "second"
    assert node_routing(ROUTED, c(topic="retired")) == NodeRouting("second", "legacy", None)


def test_intake_stamps_the_node_s_service_but_keeps_one_the_sender_named() -> None:
    got = with_service(ROUTED, c(topic="internet", type="complaint", subtopic="no_connection", product="p"))
    assert got == c(topic="internet", type="complaint", subtopic="no_connection", product="p",
                    service_id="internet", sub_service_id="fiber")
    named = c(topic="internet", type="complaint", subtopic="no_connection", sub_service_id="copper")
    assert with_service(ROUTED, named) == named
    assert with_service(ROUTED, c(topic="astrology")) == c(topic="astrology")
    assert with_service(ROUTED, None) is None


def test_urgency_line_is_the_first_rule_of_that_urgency_naming_one() -> None:
    rules = [UrgencyRule(id="b", urgency="urgent", line="third", order=5),
             UrgencyRule(id="a", urgency="urgent", keywords=["no connection"], order=1),
             UrgencyRule(id="c", urgency="urgent", line="second", order=2),
             UrgencyRule(id="d", urgency="high", order=0)]
    assert urgency_line(rules, "urgent") == "second"
    assert urgency_line(rules, "high") is None
    assert urgency_line(rules, "normal") is None
    assert urgency_line([], "urgent") is None
