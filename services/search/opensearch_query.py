"""OpenSearch's index mapping, documents and queries, built by pure functions (unit-tested without a cluster).

Query words become ``multi_match`` clauses (fuzzy, every word required) and ``prefix`` clauses on ``ids``; the
query string never reaches OpenSearch's query-string syntax. Highlights are HTML-encoded by OpenSearch itself
(``encoder: html``) around ``<mark>`` tags, the same shape the embedded engine returns.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.search_api import Highlight, SearchHit, SearchResponse

from .domain import IndexDoc
from .engine import Query
from .filters import AllOf, AnyOf, Filter, Range, Term
from .text import id_prefix

TEXTS = ("subject", "text", "people")
KEYWORDS = ("ticket_id", "ids", "status", "line", "group_id", "service_team_id", "assignee_id", "participants",
            "client_id", "contact_id", "tags")
SNIPPET_CHARS = 200


# Russian then English stemming in one analyzer (each stemmer leaves the other alphabet alone): tickets and articles
ANALYSIS: dict[str, Any] = {
    "filter": {"ru_stem": {"type": "stemmer", "language": "russian"},
               "en_stem": {"type": "stemmer", "language": "english"}},
    "analyzer": {"ru_en": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "ru_stem", "en_stem"]}}}
TEXT = {"type": "text", "analyzer": "ru_en"}


def mapping() -> dict[str, Any]:
    text = TEXT
    return {
        "settings": {"analysis": ANALYSIS},
        "mappings": {"dynamic": "strict", "properties": {
            **{k: {"type": "keyword"} for k in KEYWORDS},
            **{k: text for k in (*TEXTS, "notes")},
            "number": {"type": "long"}, "version": {"type": "long"},
            "created_at": {"type": "date"}, "updated_at": {"type": "date"}}},
    }


def document(d: IndexDoc) -> dict[str, Any]:
    return d.model_dump(mode="json")


def text_fields(notes: bool) -> list[str]:
    return ["subject^2", "text", "people", *(["notes"] if notes else [])]


def word_clause(word: str, notes: bool) -> dict[str, Any]:
    should: list[dict[str, Any]] = [{"multi_match": {"query": word, "fields": text_fields(notes), "operator": "and",
                                                     "fuzziness": "AUTO:5,100"}}]
    if prefix := id_prefix(word):
        should.append({"prefix": {"ids": {"value": prefix, "boost": 2.0}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def filter_clause(f: Filter) -> dict[str, Any]:
    match f:
        case Term(field=field, values=values):
            return {"terms": {field: list(values)}}
        case Range(field=field, lower=lower, upper=upper):
            bounds = {k: v.isoformat() for k, v in (("gte", lower), ("lte", upper)) if v is not None}
            return {"range": {field: bounds}}
        case AllOf(parts=parts):
            return {"bool": {"filter": [filter_clause(p) for p in parts]}} if parts else {"match_all": {}}
        case AnyOf(parts=parts):
            if not parts:
                return {"match_none": {}}
            return {"bool": {"should": [filter_clause(p) for p in parts], "minimum_should_match": 1}}
    raise TypeError(f"unknown filter {f!r}")


def search_body(query: Query) -> dict[str, Any]:
    words = [word_clause(w, query.notes) for w in query.words]
    fields = [f.split("^")[0] for f in text_fields(query.notes)]
    return {
        "size": query.limit, "track_total_hits": True, "_source": ["ticket_id", "number"],
        "query": {"bool": {"must": words, "filter": [filter_clause(query.filter)]}},
        "highlight": {"encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                      "highlight_query": {"bool": {"must": words}},
                      "fields": {f: {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1} for f in fields}},
    }


def response(body: dict[str, Any]) -> SearchResponse:
    hits = body.get("hits") or {}
    total = hits.get("total") or {}
    out = []
    for hit in hits.get("hits") or []:
        src = hit.get("_source") or {}
        highlights = [Highlight(field=f, html=fragments[0]) for f, fragments in (hit.get("highlight") or {}).items()
                      if fragments and f in (*TEXTS, "notes")]
        out.append(SearchHit(ticket_id=src["ticket_id"], number=src["number"], score=float(hit.get("_score") or 0),
                             highlights=highlights))
    return SearchResponse(total=int(total.get("value", 0) if isinstance(total, dict) else total), hits=out)
