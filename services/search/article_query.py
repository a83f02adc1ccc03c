"""An article search request as an engine query (pure): the words as for tickets, the reader's scope as the one
visibility rule (``shared/contracts/article_visibility.py``) translated into index terms, then the request's
catalogue category and tag. The scope is part of the query, so totals never count what the reader may not see.
Unlike a ticket search (every word required), half of an article query's words are enough (:func:`needed`)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.article_search import ArticleSearchRequest
from shared.contracts.article_visibility import visible_filter

from .filters import AllOf, Filter, Term, scope_filter
from .text import words

# The fields the visibility rule names → the indexed field holding each
ARTICLE_FIELDS = {"status": "status", "visibility": "visibility", "client_categories": "client_categories"}


@dataclass(frozen=True)
class ArticleQuery:
    words: list[str]  # from text.words: never parsed by an engine's query language
    filter: Filter  # the reader's scope AND the request's category and tag
    limit: int


def needed(words: int) -> int:
    """How many of a query's words (stop words aside) an article must match: at least half of them, so a question
    finds the article that answers it in other words, and an unrelated one with a single common word does not."""
    return max(1, (words + 1) // 2)


def article_filter(req: ArticleSearchRequest) -> Filter:
    # published ones only, whoever reads: the index keeps withdrawn articles as documents with no words
    parts: list[Filter] = [Term("status", ("published",)), scope_filter(visible_filter(req.scope), ARTICLE_FIELDS)]
    parts += [Term("categories", (req.category,))] if req.category else []
    parts += [Term("tags", (req.tag,))] if req.tag else []
    return AllOf(tuple(parts))


def article_query(req: ArticleSearchRequest) -> ArticleQuery:
    """:class:`text.QueryError` when the query has no words or too many."""
    return ArticleQuery(words(req.q), article_filter(req), req.limit)
