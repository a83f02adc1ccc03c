"""Classification tree (topic → type → subtopic) and urgency rules.

Owned by intake: an inbound classification must exist in the tree (and name a
product where the topic says so); urgency comes only from these rules, never
typed freely by an agent.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "internet", "name": {"ru": "Доступ в интернет", "en": "Internet access"}, "product_required": True,
        "types": [
            {"type": "complaint", "subtopics": [
                {"id": "no_connection", "name": {"ru": "Нет связи", "en": "No connection"}},
                {"id": "low_speed", "name": {"ru": "Низкая скорость", "en": "Low speed"}}]},
            {"type": "request", "subtopics": [
                {"id": "tariff_change", "name": {"ru": "Смена тарифа", "en": "Tariff change"}}]},
            {"type": "consultation", "subtopics": [
                {"id": "router_setup", "name": {"ru": "Настройка роутера", "en": "Router set-up"}}]}],
        "active": True}]})

    id: str
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    product_required: bool = Field(False, description="A product (service, tariff, campaign) must be chosen")
    types: list[TopicType] = Field(default_factory=list)
    active: bool = True


class UrgencyRule(BaseModel):
    """A message matching any keyword (case-insensitive) or any topic gets ``urgency``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "no-connection", "urgency": "urgent",
        "keywords": ["нет связи", "не работает интернет", "no connection", "internet is down"],
        "topics": ["outage"], "order": 10}]})

    id: str
    urgency: str = "urgent"
    keywords: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    order: int = Field(0, description="Lower first; the first matching rule wins")


TOPICS = register("classification-topics", Topic, "dir_classification_topics", owner="intake",
                  description="Classification tree: topic → ticket type → subtopic; product-required topics")
URGENCY_RULES = register("urgency-rules", UrgencyRule, "dir_urgency_rules", owner="intake",
                         description="Urgency from keywords or topics (e.g. 'no connection' → urgent)")
