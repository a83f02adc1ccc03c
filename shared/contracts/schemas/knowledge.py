"""``knowledge.events``: what the knowledge service records about its articles and news (keyed by their id), with
no article text; ``knowledge.articles``: each article's published state, text included (internal articles too), for
the search service's article index (shared/contracts/topics.py says who may read it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Message, message
from shared.contracts.language import Language

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


# ---- knowledge.articles: the published state of each article (the topic is compacted: its latest record stays) ----

class ArticleText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    text: str = Field(max_length=200_000, description="The body's Markdown rendered and reduced to plain text")


@message("ArticlePublishedState")
class ArticlePublishedState(Message):
    """An article's published version as the search index needs it: its words and the fields readers are scoped by.

    A reader holding a newer version of the article ignores an older one."""

    article_id: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    visibility: Literal["public", "internal", "categories"]
    client_categories: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    content: dict[Language, ArticleText] = Field(min_length=1)
    published_at: datetime | None = None
    updated_at: datetime


@message("ArticleWithdrawn")
class ArticleWithdrawn(Message):
    """A published article is no longer published (back to draft or review, or archived): readers drop it."""

    article_id: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    status: Literal["draft", "review", "archived"]
    updated_at: datetime
