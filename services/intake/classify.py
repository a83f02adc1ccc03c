"""Classification against the configured tree, and urgency from the urgency directory (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.contracts.schemas.common import Classification
from shared.directory.classification import Topic, UrgencyRule, node_routing


def classification_errors(tree: Sequence[Topic], c: Classification) -> list[str]:
    """Why ``c`` is not a valid choice from the tree (empty list: it is)."""
    if not any((c.topic, c.type, c.subtopic, c.product)):
        return []
    topics = {t.id: t for t in tree if t.active}
    if not c.topic:
        return ["a classification needs a topic"]
    topic = topics.get(c.topic)
    if topic is None:
        return [f"unknown topic {c.topic!r}"]
    errors: list[str] = []
    if topic.product_required and not c.product:
        errors.append(f"topic {c.topic!r} requires a product")
    if c.type is None:
        if c.subtopic:
            errors.append("a subtopic needs a type")
        return errors
    node = next((n for n in topic.types if n.type.value == c.type), None)
    if node is None:
        allowed = ", ".join(n.type.value for n in topic.types) or "none"
        return [*errors, f"type {c.type!r} is not allowed under topic {c.topic!r} (allowed: {allowed})"]
    if c.subtopic and c.subtopic not in {s.id for s in node.subtopics}:
        errors.append(f"unknown subtopic {c.subtopic!r} under {c.topic!r} / {c.type!r}")
    return errors


def with_service(tree: Sequence[Topic], c: Classification | None) -> Classification | None:
    """``c`` with the catalogue service / sub-service its tree node names, so the ticket records what it is
    about (reports group by it) and routing offers it to that service's group.

    A service the sender named explicitly is kept: only a classification without one is filled in.
    """
    if c is None or c.service_id or c.sub_service_id:
        return c
    hints = node_routing(tree, c)
    if not (hints.service_id or hints.sub_service_id):
        return c
    return c.model_copy(update={"service_id": hints.service_id, "sub_service_id": hints.sub_service_id})


def all_errors(tree: Sequence[Topic], items: Iterable[Classification | None]) -> list[str]:
    out: list[str] = []
    for c in items:
        if c is not None:
            out.extend(classification_errors(tree, c))
    return out


def urgency_of(rules: Sequence[UrgencyRule], text: str, topics: Iterable[str]) -> str:
    """First matching rule by order; 'normal' when none matches."""
    haystack = text.casefold()
    topic_set = set(topics)
    for rule in sorted(rules, key=lambda r: (r.order, r.id)):
        if topic_set.intersection(rule.topics) or any(k.casefold() in haystack for k in rule.keywords if k.strip()):
            return rule.urgency
    return "normal"
