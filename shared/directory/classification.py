"""Classification tree (topic → type → subtopic) and urgency rules.

Owned by intake: an inbound classification must exist in the tree (and name a
product where the topic says so); urgency comes only from these rules, never
typed freely by an agent. Routing reads both, read-only, for the support line and
service-catalogue entry a node or an urgency names (see :func:`node_routing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.schemas.common import Classification, TicketType
from shared.directory import register

NodeLine = Annotated[str | None, Field(
    description="Support line for tickets classified here (routing); a deeper node's line wins")]
NodeService = Annotated[str | None, Field(
    description="Service-catalogue service for tickets classified here; replaces the parent node's service")]
NodeSubService = Annotated[str | None, Field(description="Service-catalogue sub-service for tickets classified here")]


class Subtopic(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict)
    line: NodeLine = None
    service_id: NodeService = None
    sub_service_id: NodeSubService = None


class TopicType(BaseModel):
    """One ticket type allowed under a topic, with its subtopics."""

    type: TicketType
    subtopics: list[Subtopic] = Field(default_factory=list)
    line: NodeLine = None
    service_id: NodeService = None
    sub_service_id: NodeSubService = None


class Topic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "internet", "name": {"ru": "Доступ в интернет", "en": "Internet access"}, "product_required": True,
        "service_id": "internet",
        "types": [
            {"type": "complaint", "line": "second", "subtopics": [
                {"id": "no_connection", "name": {"ru": "Нет связи", "en": "No connection"},
                 "sub_service_id": "internet-access"},
                {"id": "low_speed", "name": {"ru": "Низкая скорость", "en": "Low speed"}}]},
            {"type": "request", "subtopics": [
                {"id": "tariff_change", "name": {"ru": "Смена тарифа", "en": "Tariff change"}, "line": "commercial",
                 "service_id": "tariffs"}]},
            {"type": "consultation", "subtopics": [
                {"id": "router_setup", "name": {"ru": "Настройка роутера", "en": "Router set-up"}}]}],
        "active": True}]})

    id: str
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    product_required: bool = Field(False, description="A product (service, tariff, campaign) must be chosen")
    types: list[TopicType] = Field(default_factory=list)
    active: bool = True
    line: NodeLine = None
    service_id: NodeService = None
    sub_service_id: NodeSubService = None


class UrgencyRule(BaseModel):
    """A message matching any keyword (case-insensitive) or any topic gets ``urgency``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "no-connection", "urgency": "urgent",
        "keywords": ["нет связи", "не работает интернет", "no connection", "internet is down"],
        "topics": ["outage"], "order": 10, "line": "second"}]})

    id: str
    urgency: str = "urgent"
    keywords: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    order: int = Field(0, description="Lower first; the first matching rule wins")
    line: str | None = Field(None, description=(
        "Support line tickets of this urgency go straight to, before the client's choice. A ticket records its "
        "urgency, not the rule that set it: rules of one urgency should name one line (the first by order wins)"))


TOPICS = register("classification-topics", Topic, "dir_classification_topics", owner="intake",
                  description="Classification tree: topic → ticket type → subtopic; product-required topics; "
                              "per node an optional support line and catalogue service / sub-service")
URGENCY_RULES = register("urgency-rules", UrgencyRule, "dir_urgency_rules", owner="intake",
                         description="Urgency from keywords or topics (e.g. 'no connection' → urgent), "
                                     "optionally straight to a support line")


# ---- what a node or an urgency names for routing (pure; intake stamps the service, routing reads the line) ----


@dataclass(frozen=True)
class NodeRouting:
    line: str | None = None
    service_id: str | None = None
    sub_service_id: str | None = None


def node_routing(tree: Iterable[Topic], c: Classification | None) -> NodeRouting:
    """The line and catalogue entry the classification's nodes name, walking topic → type → subtopic.

    A deeper node's line wins. A node naming a service replaces the parent's service *and*
    sub-service (a sub-service belongs to its service); one naming only a sub-service keeps
    the parent's service. Inactive topics still count: tickets classified before a topic was
    retired keep routing as configured. Nodes the tree does not know add nothing.
    """
    if c is None or not c.topic:
        return NodeRouting()
    topic = next((t for t in tree if t.id == c.topic), None)
    if topic is None:
        return NodeRouting()
    nodes: list[Topic | TopicType | Subtopic] = [topic]
    kind = next((n for n in topic.types if n.type.value == c.type), None) if c.type else None
    if kind is not None:
        nodes.append(kind)
        sub = next((s for s in kind.subtopics if s.id == c.subtopic), None) if c.subtopic else None
        if sub is not None:
            nodes.append(sub)
    line = service = sub_service = None
    for node in nodes:
        line = node.line or line
        if node.service_id:
            service, sub_service = node.service_id, None
        sub_service = node.sub_service_id or sub_service
    return NodeRouting(line, service, sub_service)


def urgency_line(rules: Iterable[UrgencyRule], urgency: str) -> str | None:
    """The line tickets of ``urgency`` go straight to: the first rule by order of that urgency naming one."""
    for rule in sorted(rules, key=lambda r: (r.order, r.id)):
        if rule.urgency == urgency and rule.line:
            return rule.line
    return None
