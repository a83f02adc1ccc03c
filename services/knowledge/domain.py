"""The knowledge base's pure rules: the article workflow and its versions, who sees what, when news shows.

Who sees which article is one rule in two forms (``shared/contracts/article_visibility.py``), re-exported here: the
search service applies the same rule to its article index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.contracts import article_visibility
from shared.contracts.knowledge_api import ArticleIn, ArticleStatus, NewsIn, Transition, Viewer

CONTENT_FIELDS = ("visibility", "client_categories", "categories", "tags")
# action -> (the statuses it starts from, the status it leads to)
WORKFLOW: dict[Transition, tuple[frozenset[ArticleStatus], ArticleStatus]] = {
    "submit": (frozenset({"draft"}), "review"),
    "reject": (frozenset({"review"}), "draft"),
    "publish": (frozenset({"review"}), "published"),
    "archive": (frozenset({"draft", "review", "published"}), "archived"),
    "restore": (frozenset({"archived"}), "draft"),
}


class Refused(Exception):
    """A step the article's state does not allow (a 409 in the API)."""


class Version(BaseModel):
    version: int
    at: datetime
    by: str
    action: str
    changed: list[str]
    status: ArticleStatus


class Article(ArticleIn):
    id: str
    status: ArticleStatus = "draft"
    version: int = 1
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    published_at: datetime | None = None
    views: int = Field(0, description="Distinct person-days")


def create(article_id: str, data: ArticleIn, actor: str, at: datetime) -> tuple[Article, Version]:
    article = Article(id=article_id, created_at=at, created_by=actor, updated_at=at, updated_by=actor,
                      **data.model_dump())
    return article, Version(version=1, at=at, by=actor, action="create", changed=changed(None, data), status="draft")


def changed(old: ArticleIn | None, new: ArticleIn) -> list[str]:
    """What differs: each language's text as content.<lang>, then the other fields by name."""
    before = old.model_dump() if old else {"content": {}, "visibility": None, "client_categories": [],
                                            "categories": [], "tags": []}
    after = new.model_dump()
    langs = sorted({*before["content"], *after["content"]})
    found = [f"content.{lang}" for lang in langs if before["content"].get(lang) != after["content"].get(lang)]
    return found + [f for f in CONTENT_FIELDS if before.get(f) != after[f]]


def edit(article: Article, data: ArticleIn, actor: str, at: datetime,
         can_publish: bool) -> tuple[Article, Version] | None:
    """A new version; None when nothing changed. A live article is edited in place only by someone who may publish
    (what he saves is what he would publish); an article under review goes back to draft for a new review."""
    if article.status == "archived":
        raise Refused("an archived article is restored to draft before it is edited")
    if article.status == "published" and not can_publish:
        raise Refused("a published article is edited only by someone who may publish it")
    diff = changed(article, data)
    if not diff:
        return None
    status: ArticleStatus = "draft" if article.status == "review" else article.status
    # model_copy does not validate: the new fields go in as the models they are, not as dumped dicts
    fields = {name: getattr(data, name) for name in ArticleIn.model_fields}
    new = article.model_copy(update={**fields, "status": status, "version": article.version + 1,
                                     "updated_at": at, "updated_by": actor})
    return new, Version(version=new.version, at=at, by=actor, action="edit", changed=diff, status=status)


def transition(article: Article, action: Transition, actor: str, at: datetime) -> tuple[Article, Version]:
    starts, to = WORKFLOW[action]
    if article.status not in starts:
        raise Refused(f"{action} is not possible for a {article.status} article "
                      f"(it needs one of: {', '.join(sorted(starts))})")
    update: dict[str, Any] = {"status": to, "version": article.version + 1, "updated_at": at, "updated_by": actor}
    if to == "published":
        update["published_at"] = at
    new = article.model_copy(update=update)
    return new, Version(version=new.version, at=at, by=actor, action=action, changed=["status"], status=to)


# ---- who sees what: the one rule, shared with the search service's article index ----

visible_filter, visible = article_visibility.visible_filter, article_visibility.visible


class News(NewsIn):
    id: str
    updated_at: datetime
    updated_by: str


AUDIENCES = {"client": ("clients", "both"), "staff": ("staff", "both"), "editor": ("clients", "staff", "both")}


def news_filter(viewer: Viewer, now: datetime, scheduled: bool = False) -> dict[str, Any]:
    """News shown to the viewer now: his audience, between its dates. Editors may ask for every item (scheduled)."""
    if scheduled and viewer.audience == "editor":
        return {}
    return {"audience": {"$in": list(AUDIENCES[viewer.audience])}, "publish_at": {"$lte": now},
            "$or": [{"unpublish_at": None}, {"unpublish_at": {"$gt": now}}]}


def news_shown(viewer: Viewer, news: News, now: datetime) -> bool:
    return (news.audience in AUDIENCES[viewer.audience] and news.publish_at <= now
            and (news.unpublish_at is None or news.unpublish_at > now))
