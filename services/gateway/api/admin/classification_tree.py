"""The classification tree as agents choose from it when they reclassify a ticket: the active topics, their ticket
types and subtopics with their names, and the urgencies the rules name. Read-only and for staff; the directory
itself (with each node's routing) stays administrators'."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.directory import DirectoryStore
from shared.directory.classification import TOPICS, URGENCY_RULES
from shared.runtime.problems import problem_responses

from ...access.principal import STAFF
from ..deps import Ctx, CurrentPrincipal, require

MAX_NODES = 10_000  # entries read per call: an admin-edited tree, not a growing log


class TreeSubtopic(BaseModel):
    id: str
    name: dict[str, str] = Field(description="ru/en names")


class TreeType(BaseModel):
    type: str = Field(description="A ticket type allowed under the topic (the classification's `type`)")
    subtopics: list[TreeSubtopic]


class TreeTopic(BaseModel):
    id: str
    name: dict[str, str] = Field(description="ru/en names")
    product_required: bool = Field(description="A product must be named with this topic")
    types: list[TreeType]


class ClassificationTree(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "topics": [{"id": "internet", "name": {"en": "Internet access"}, "product_required": True, "types": [
            {"type": "complaint", "subtopics": [{"id": "no_connection", "name": {"en": "No connection"}}]}]}],
        "urgencies": ["urgent"]}]}}

    topics: list[TreeTopic] = Field(description="Active topics, by id")
    urgencies: list[str] = Field(description="The urgencies the desk's urgency rules name, sorted")


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["catalogue"])

    @r.get("/classification", response_model=ClassificationTree, responses=problem_responses(401, 403),
           summary="Staff: the active classification tree (topic → ticket type → subtopic) to reclassify from")
    async def tree(p: CurrentPrincipal, ctx: Ctx) -> ClassificationTree:
        require(p, STAFF, "the classification tree")
        topics = await DirectoryStore(ctx.reads.db, TOPICS).list({"active": True}, limit=MAX_NODES)
        rules = await DirectoryStore(ctx.reads.db, URGENCY_RULES).list(limit=MAX_NODES)
        return ClassificationTree(
            topics=[TreeTopic(id=t.id, name=t.name, product_required=t.product_required,
                              types=[TreeType(type=k.type.value, subtopics=[TreeSubtopic(id=s.id, name=s.name)
                                                                       for s in k.subtopics]) for k in t.types])
                    for t in sorted(topics, key=lambda t: t.id)],
            urgencies=sorted({rule.urgency for rule in rules}))

    return r
