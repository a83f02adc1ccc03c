"""What the article index holds of a knowledge article (pure), from its state on ``knowledge.articles``: the published
version as one document with every language's title and text, its tags and catalogue categories as words, and the
fields its scope filters on. A withdrawn article leaves a document with no words, only its status and version, so a
published state older than the withdrawal, read again later, cannot bring it back; searches take published ones only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from shared.contracts.envelope import Message
from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleWithdrawn


class ArticleDoc(BaseModel):
    article_id: str
    version: int
    title: str  # every language's title
    text: str  # every language's body as plain text
    labels: str  # tags and catalogue categories, matched as words
    status: str  # "published"; a withdrawn article's status otherwise
    visibility: str
    client_categories: list[str]
    categories: list[str]
    tags: list[str]
    languages: list[str]
    updated_at: datetime


def article_doc(state: Message) -> ArticleDoc | None:
    """The document a record of ``knowledge.articles`` leaves in the index; None for any other message."""
    if isinstance(state, ArticleWithdrawn):
        return ArticleDoc(article_id=state.article_id, version=state.version, title="", text="", labels="",
                          status=state.status, visibility="internal", client_categories=[], categories=[], tags=[],
                          languages=[], updated_at=state.updated_at)
    if not isinstance(state, ArticlePublishedState):
        return None
    content = state.content.values()
    return ArticleDoc(
        article_id=state.article_id, version=state.version, title="\n".join(t.title for t in content),
        text="\n\n".join(t.text for t in content), labels=" ".join(dict.fromkeys([*state.tags, *state.categories])),
        status="published", visibility=state.visibility, client_categories=list(state.client_categories),
        categories=list(state.categories), tags=list(state.tags), languages=list(state.content),
        updated_at=state.updated_at)


def newest(docs: Iterable[ArticleDoc]) -> dict[str, ArticleDoc]:
    """Each article's highest version among ``docs``."""
    latest: dict[str, ArticleDoc] = {}
    for d in docs:
        if d.article_id not in latest or d.version > latest[d.article_id].version:
            latest[d.article_id] = d
    return latest
