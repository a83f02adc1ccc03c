"""OpenSearch's queries and mapping, built without a cluster (pure); the same filters and words as tantivy's."""

from __future__ import annotations

from datetime import UTC, datetime

from services.search.engine import Query
from services.search.filters import AllOf, AnyOf, Range, Term
from services.search.opensearch_query import filter_clause, mapping, response, search_body

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_filters_become_bool_terms_and_ranges() -> None:
    f = AllOf((AnyOf((Term("service_team_id", ("A", "B")), Term("assignee_id", ("ann",)))),
               Range("created_at", AT, None)))
    assert filter_clause(f) == {"bool": {"filter": [
        {"bool": {"should": [{"terms": {"service_team_id": ["A", "B"]}}, {"terms": {"assignee_id": ["ann"]}}],
                  "minimum_should_match": 1}},
        {"range": {"created_at": {"gte": "2026-01-01T00:00:00+00:00"}}}]}}
    assert filter_clause(AnyOf(())) == {"match_none": {}} and filter_clause(AllOf(())) == {"match_all": {}}


def test_notes_are_searched_and_highlighted_for_staff_only() -> None:
    client = search_body(Query(["связь"], AllOf(()), notes=False, limit=5))
    staff = search_body(Query(["связь"], AllOf(()), notes=True, limit=5))
    assert "notes" not in str(client["query"]) and "notes" not in client["highlight"]["fields"]
    assert "notes" in staff["highlight"]["fields"]
    assert client["highlight"]["encoder"] == "html" and client["highlight"]["pre_tags"] == ["<mark>"]
    word = client["query"]["bool"]["must"][0]["bool"]["should"]
    assert word[0]["multi_match"]["query"] == "связь" and word[0]["multi_match"]["operator"] == "and"
    assert word[1] == {"prefix": {"ids": {"value": "связь", "boost": 2.0}}}
    assert "query_string" not in str(staff)  # the words never reach OpenSearch's query syntax


def test_mapping_stems_both_languages_and_answers_parse() -> None:
    analyzer = mapping()["settings"]["analysis"]["analyzer"]["ru_en"]
    assert analyzer["filter"] == ["lowercase", "ru_stem", "en_stem"]
    body = {"hits": {"total": {"value": 3}, "hits": [{"_score": 1.5, "_source": {"ticket_id": "T", "number": 7},
                                                       "highlight": {"text": ["<mark>a</mark>"], "other": ["x"]}}]}}
    parsed = response(body)
    assert parsed.total == 3 and parsed.hits[0].ticket_id == "T"
    assert [(h.field, h.html) for h in parsed.hits[0].highlights] == [("text", "<mark>a</mark>")]
