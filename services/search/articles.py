"""What the article index holds of a knowledge article (pure): only its published version, as one document with
every language's title and text, its tags and catalogue categories as words, and the fields its scope filters on."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.contracts.article_search import IndexedArticle


class ArticleDoc(BaseModel):
    article_id: str
    version: int
    title: str  # every language's title
    text: str  # every language's body as plain text
    labels: str  # tags and catalogue categories, matched as words
    status: str
    visibility: str
    client_categories: list[str]
    categories: list[str]
    tags: list[str]
    languages: list[str]
    updated_at: datetime


def article_doc(article: IndexedArticle) -> ArticleDoc | None:
    """The article's document; None when it is not published (a draft, a review or an archived article is never
    searchable: the caller removes whatever the index held for it)."""
    if article.status != "published":
        return None
    content = article.content.values()
    return ArticleDoc(
        article_id=article.id, version=article.version, title="\n".join(t.title for t in content),
        text="\n\n".join(t.text for t in content), labels=" ".join(dict.fromkeys([*article.tags, *article.categories])),
        status=article.status, visibility=article.visibility, client_categories=list(article.client_categories),
        categories=list(article.categories), tags=list(article.tags), languages=list(article.content),
        updated_at=article.updated_at)
