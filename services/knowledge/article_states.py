"""What ``knowledge.articles`` says of an article after a change (pure): its published version, the body reduced to
plain text, or its withdrawal when a published article stops being published. A change that leaves no published
version behind or before it (a draft edited, submitted, rejected, archived, restored) says nothing there."""

from __future__ import annotations

from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleText, ArticleWithdrawn

from .domain import Article
from .render import plain_text


def article_state(article: Article, before: Article | None) -> ArticlePublishedState | ArticleWithdrawn | None:
    if article.status == "published":
        return ArticlePublishedState(
            article_id=article.id, version=article.version, visibility=article.visibility,
            client_categories=list(article.client_categories), categories=list(article.categories),
            tags=list(article.tags),
            content={lang: ArticleText(title=t.title, text=plain_text(t.body)) for lang, t in article.content.items()},
            published_at=article.published_at, updated_at=article.updated_at)
    if before is not None and before.status == "published":
        return ArticleWithdrawn(article_id=article.id, version=article.version, status=article.status,
                                updated_at=article.updated_at)
    return None
