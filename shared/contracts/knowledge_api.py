"""The knowledge service's internal HTTP API as the gateway calls it (``services/knowledge/api/`` serves it).

The gateway is the only door for people: it authenticates the caller and sends who he is as a ``Viewer`` (his id,
his audience, his client category); the knowledge service decides from that alone what he may see, so a client
never learns of an article he may not read, not even as a count or a refusal (a 404, like a missing one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.contracts.language import Language
from shared.contracts.schemas.common import Strict

Audience = Literal["client", "staff", "editor"]  # editor: leads and administrators, who see drafts and archives
Visibility = Literal["public", "internal", "categories"]
ArticleStatus = Literal["draft", "review", "published", "archived"]
Transition = Literal["submit", "reject", "publish", "archive", "restore"]
NewsAudience = Literal["clients", "staff", "both"]
MAX_QUERY_CHARS = 500
# Where the gateway serves an article's images and files: the only image source a rendered body keeps.
FILE_URL_PREFIX = "/api/v1/knowledge/files/"
MAX_BODY_CHARS = 100_000
MAX_LIST = 100
Word = str  # a tag or category id
Id = str


ARTICLE_EXAMPLE: dict[str, Any] = {
    "content": {"ru": {"title": "Как перезагрузить роутер", "body": "1. Отключите питание.\n2. Ждите **10 секунд**."},
                "en": {"title": "How to restart the router", "body": "1. Unplug it.\n2. Wait **10 seconds**."}},
    "visibility": "public", "categories": ["internet"], "tags": ["router"]}
NEWS_EXAMPLE: dict[str, Any] = {
    "content": {"ru": {"title": "Плановые работы 12 декабря", "body": "С 02:00 до 04:00 возможны перерывы связи."}},
    "audience": "clients", "publish_at": "2026-12-10T09:00:00Z", "unpublish_at": "2026-12-13T00:00:00Z"}


class Viewer(Strict):
    user_id: str = Field(min_length=1, max_length=200)
    audience: Audience
    client_category: str | None = Field(None, max_length=200, description="Clients: their organisation's category")


class Text(Strict):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=MAX_BODY_CHARS, description="Markdown; raw HTML is never passed through")


class ArticleIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_EXAMPLE]})
    content: dict[Language, Text] = Field(min_length=1, description="ru and/or en variants")
    visibility: Visibility = "internal"
    client_categories: list[Word] = Field(default_factory=list, max_length=50,
                                          description="visibility=categories: the client categories that see it")
    categories: list[Word] = Field(default_factory=list, max_length=50, description="Service catalogue ids")
    tags: list[Word] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _categories_named(self) -> ArticleIn:
        if (self.visibility == "categories") != bool(self.client_categories):
            raise ValueError("client_categories are given exactly when visibility is 'categories'")
        return self


class ArticleWrite(Strict):
    """What the gateway sends for a create or an edit: the article and who writes it."""

    article: ArticleIn
    actor: str = Field(min_length=1, max_length=200)
    can_publish: bool = Field(False, description="The actor may publish: only such a writer edits a live article")


class RenderedText(Strict):
    title: str
    html: str = Field(description="The Markdown rendered and sanitised: safe to put in a page")


class ArticleOut(ArticleIn):
    model_config = ConfigDict(json_schema_extra=None)  # its parent's example lacks this model's fields
    id: Id
    status: ArticleStatus
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    published_at: datetime | None = None
    rendered: dict[Language, RenderedText] = Field(default_factory=dict)
    views: int = 0
    helpful: int = 0
    not_helpful: int = 0
    my_vote: bool | None = None


class ArticleSummary(Strict):
    id: Id
    status: ArticleStatus
    titles: dict[Language, str]
    visibility: Visibility
    categories: list[Word]
    tags: list[Word]
    published_at: datetime | None = None
    updated_at: datetime
    views: int = 0
    score: float | None = Field(None, description="Relevance to the query, when there is one")
    fragments: list[str] = Field(default_factory=list, description="With a query: where it matched, HTML-escaped, "
                                                                    "the matched words in <mark>…</mark>")


class ArticlePage(Strict):
    items: list[ArticleSummary]
    total: int | None = Field(None, description="With a query: the matching articles you may see (all pages)")


class VersionOut(Strict):
    version: int
    at: datetime
    by: str
    action: str = Field(description="create, edit, or a workflow transition")
    changed: list[str] = Field(description="What changed in this version (fields; content.<lang>)")
    status: ArticleStatus


class VersionPage(Strict):
    items: list[VersionOut]


class StepIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"action": "publish"}]})
    action: Transition


class TransitionIn(StepIn):
    model_config = ConfigDict(json_schema_extra=None)  # its parent's example lacks this model's fields
    actor: str = Field(min_length=1, max_length=200)


class VoteIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"helpful": True}]})
    helpful: bool


class SuggestIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Пропал интернет после грозы", "limit": 5}]})
    text: str = Field(min_length=1, max_length=20_000, description="A ticket's subject, text and classification, or "
                                                                   "what a client is typing")
    limit: int = Field(5, ge=1, le=20)


class LinkIn(Strict):
    ticket_id: Id = Field(min_length=1, max_length=200)
    actor: str = Field(min_length=1, max_length=200)


class VoteOut(Strict):
    helpful: int
    not_helpful: int
    my_vote: bool | None


class Counted(Strict):
    counted: bool = Field(description="False when this person was already counted (today, for a view)")


class Gap(Strict):
    query: str
    searches: int
    last_at: datetime


class GapReport(Strict):
    items: list[Gap]


class GapIn(Strict):
    """A search that found nothing for its reader (the gateway reports it; the knowledge service keys it)."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)


class ArticleStats(Strict):
    id: Id
    views: int
    helpful: int
    not_helpful: int
    deflections: int
    linked_tickets: int
    resolved_without_more_messages: int


class FileOut(Strict):
    """An article's image or attachment as stored: its type is what its bytes proved."""

    id: Id
    filename: str
    content_type: str
    size: int
    url: str = Field(description="Where the gateway serves it: put it in the body as ![alt](url) or [name](url)")


class NewsIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [NEWS_EXAMPLE]})
    content: dict[Language, Text] = Field(min_length=1)
    audience: NewsAudience = "both"
    publish_at: datetime
    unpublish_at: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NewsIn:
        if self.unpublish_at is not None and self.unpublish_at <= self.publish_at:
            raise ValueError("unpublish_at must come after publish_at")
        return self


class NewsWrite(Strict):
    news: NewsIn
    actor: str = Field(min_length=1, max_length=200)


class NewsOut(NewsIn):
    model_config = ConfigDict(json_schema_extra=None)  # its parent's example lacks this model's fields
    id: Id
    rendered: dict[Language, RenderedText] = Field(default_factory=dict)
    updated_at: datetime
    updated_by: str


class NewsPage(Strict):
    items: list[NewsOut]
