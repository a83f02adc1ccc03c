"""``knowledge.events``: what the knowledge service records about its articles and news (keyed by their id).

No text travels here: a reader (the search service, when it indexes articles) reads the article itself through
the knowledge API with its own viewer, so a record on the topic never carries an internal article's words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Message, message

Status = Literal["draft", "review", "published", "archived"]


@message("ArticleVersioned")
class ArticleVersioned(Message):
    """An article was created, edited or moved in its workflow: its new version."""

    article_id: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    action: str = Field(max_length=50, description="create, edit, submit, reject, publish, archive, restore")
    status: Status
    visibility: Literal["public", "internal", "categories"]
    changed: list[str] = Field(default_factory=list, max_length=100)
    by: str = Field(max_length=200)


@message("ArticleLinked")
class ArticleLinked(Message):
    """An agent inserted the article into a reply on a ticket."""

    article_id: str = Field(min_length=1, max_length=200)
    ticket_id: str = Field(min_length=1, max_length=200)
    by: str = Field(max_length=200)


@message("NewsSaved")
class NewsSaved(Message):
    news_id: str = Field(min_length=1, max_length=200)
    audience: Literal["clients", "staff", "both"]
    publish_at: datetime
    unpublish_at: datetime | None = None
    by: str = Field(max_length=200)
