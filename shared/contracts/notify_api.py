"""Notify's internal HTTP API as other services call it: a person's in-app feed and template previews.

Notify serves these models (``services/notify/api.py``) and the gateway passes them on to people, so both
sides validate one shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.language import Language

_DRAFT_EXAMPLE: dict[str, Any] = {
    "subject": "[#{{ number }}] Как мы справились с вашим обращением?",
    "text": ("Здравствуйте{% if client_name %}, {{ client_name }}{% endif %}!\n\n"
             "Обращение №{{ number }} решено{% if solution %}: {{ solution }}{% endif %}.\n"
             "Хорошо: {{ links.good }}\nПлохо: {{ links.bad }}\nЯ не обращался: {{ links.not_mine }}")}


class PreviewOut(BaseModel):
    name: str
    language: str
    subject: str
    text: str
    html: str
    overridden: bool = Field(False, description="Rendered from the administrators' override, not the shipped file")


class DraftOverride(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DRAFT_EXAMPLE]})

    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    html: str | None = Field(None, max_length=50_000)


class PreviewIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"language": "ru", "context": {"client_name": "ООО «Вектор Тур»", "number": 2077},
         "draft": _DRAFT_EXAMPLE}]})

    language: Language = "ru"
    context: dict[str, Any] = Field(default_factory=dict, description="Variables over the sample context")
    draft: DraftOverride | None = Field(None, description="Unsaved wording to try; else the saved override or file")


class InboxItem(BaseModel):
    """One item of a person's in-app feed (``GET /api/v1/inbox?user=``)."""

    id: str
    ticket_id: str | None = None
    template: str
    language: str
    subject: str
    text: str
    reason: str | None = Field(None, description="Why you got it: assignee, team_lead, escalation, …")
    created_at: datetime
    read: bool


class TemplateNames(BaseModel):
    """``GET /api/v1/templates``: the shipped templates and the languages each comes in."""

    items: list[str]
    languages: list[str]
