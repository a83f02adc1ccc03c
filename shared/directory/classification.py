"""Classification tree (topic → type → subtopic) and urgency rules.

Owned by intake: an inbound classification must exist in the tree (and name a
product where the topic says so); urgency comes only from these rules, never
typed freely by an agent.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.directory import register
from shared.schemas.common import TicketType


class Subtopic(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict)


class TopicType(BaseModel):
    """One ticket type allowed under a topic, with its subtopics."""

    type: TicketType
    subtopics: list[Subtopic] = Field(default_factory=list)


class Topic(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    product_required: bool = Field(False, description="A product (service, tariff, campaign) must be chosen")
    types: list[TopicType] = Field(default_factory=list)
    active: bool = True


class UrgencyRule(BaseModel):
    """A message matching any keyword (case-insensitive) or any topic gets ``urgency``."""

    id: str
    urgency: str = "urgent"
    keywords: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    order: int = Field(0, description="Lower first; the first matching rule wins")


TOPICS = register("classification-topics", Topic, "dir_classification_topics", owner="intake",
                  description="Classification tree: topic → ticket type → subtopic; product-required topics")
URGENCY_RULES = register("urgency-rules", UrgencyRule, "dir_urgency_rules", owner="intake",
                         description="Urgency from keywords or topics (e.g. 'no connection' → urgent)")
