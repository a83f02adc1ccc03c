"""OpenSearch's article index: its mapping, documents, queries and answers, built by pure functions like the
tickets' (``opensearch_query.py``: the same analyzer and filter clauses; words never reach query-string syntax)."""

from __future__ import annotations

from typing import Any

from shared.contracts.article_search import ArticleHighlight, ArticleHit, ArticleSearchResponse

from .article_query import ArticleQuery, needed
from .articles import ArticleDoc
from .opensearch_query import ANALYSIS, SNIPPET_CHARS, filter_clause

ARTICLE_TEXTS = ("title", "text", "labels")
ARTICLE_KEYWORDS = ("article_id", "status", "visibility", "client_categories", "categories", "tags", "languages")
# The tickets' stemming with both languages' stop words dropped (as the embedded engine's article analyzer)
ARTICLE_ANALYSIS: dict[str, Any] = {
    "filter": {**ANALYSIS["filter"], "ru_stop": {"type": "stop", "stopwords": "_russian_"},
               "en_stop": {"type": "stop", "stopwords": "_english_"}},
    "analyzer": {"ru_en_stop": {"type": "custom", "tokenizer": "standard",
                                "filter": ["lowercase", "ru_stop", "en_stop", "ru_stem", "en_stem"]}}}
TEXT = {"type": "text", "analyzer": "ru_en_stop"}


def article_mapping() -> dict[str, Any]:
    return {"settings": {"analysis": ARTICLE_ANALYSIS}, "mappings": {"dynamic": "strict", "properties": {
        **{k: {"type": "keyword"} for k in ARTICLE_KEYWORDS}, **{k: TEXT for k in ARTICLE_TEXTS},
        "version": {"type": "long"}, "updated_at": {"type": "date"}}}}


def article_document(d: ArticleDoc) -> dict[str, Any]:
    return d.model_dump(mode="json")


def _word(word: str) -> dict[str, Any]:
    # a word that is only a stop word matches everything, so it never counts against the words needed
    return {"multi_match": {"query": word, "fields": ["title^2", "text", "labels"], "operator": "and",
                            "fuzziness": "AUTO:5,100", "zero_terms_query": "all"}}


def article_body(query: ArticleQuery) -> dict[str, Any]:
    words = [_word(w) for w in query.words]
    return {
        "size": query.limit, "track_total_hits": True, "_source": ["article_id"],
        "query": {"bool": {"should": words, "minimum_should_match": needed(len(words)),
                           "filter": [filter_clause(query.filter)]}},
        "highlight": {"encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                      "highlight_query": {"bool": {"should": words}},
                      "fields": {f: {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1} for f in ARTICLE_TEXTS}},
    }


def article_response(body: dict[str, Any]) -> ArticleSearchResponse:
    hits = body.get("hits") or {}
    total = hits.get("total") or {}
    out = []
    for hit in hits.get("hits") or []:
        highlights = [ArticleHighlight(field=f, html=fragments[0])  # type: ignore[arg-type]
                      for f, fragments in (hit.get("highlight") or {}).items() if fragments and f in ARTICLE_TEXTS]
        out.append(ArticleHit(article_id=(hit.get("_source") or {})["article_id"],
                              score=float(hit.get("_score") or 0), highlights=highlights))
    return ArticleSearchResponse(total=int(total.get("value", 0) if isinstance(total, dict) else total), hits=out)
