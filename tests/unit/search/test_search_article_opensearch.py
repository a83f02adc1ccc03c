"""OpenSearch's article index: its own mapping, documents and queries, built without a cluster (pure); the versions
it compares before a write and its count of published articles, asked of a stand-in client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.search.article_query import article_query
from services.search.articles import ArticleDoc
from services.search.opensearch_article_query import article_body, article_document, article_mapping, article_response
from services.search.opensearch_articles import OpenSearchArticles
from services.search.settings import SearchSettings
from shared.contracts.article_search import ArticleScope, ArticleSearchRequest

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_mapping_stems_both_languages_and_holds_only_article_fields() -> None:
    mapping = article_mapping()
    assert mapping["settings"]["analysis"]["analyzer"]["ru_en_stop"]["filter"] == [
        "lowercase", "ru_stop", "en_stop", "ru_stem", "en_stem"]
    props = mapping["mappings"]["properties"]
    assert props["title"]["analyzer"] == "ru_en_stop" and props["visibility"] == {"type": "keyword"}
    doc = ArticleDoc(article_id="a", version=2, title="Modem", text="Reset", labels="router", status="published",
                     visibility="public", client_categories=[], categories=[], tags=["router"], languages=["en"],
                     updated_at=AT)
    assert set(article_document(doc)) <= set(props)


def test_the_scope_is_a_filter_and_the_words_never_reach_query_syntax() -> None:
    body = article_body(article_query(ArticleSearchRequest(q='модем" OR visibility:internal', limit=7,
                                                           scope=ArticleScope(audience="client"))))
    assert body["size"] == 7 and body["track_total_hits"] is True
    scope = str(body["query"]["bool"]["filter"])
    assert "'visibility': ['public']" in scope and "'status': ['published']" in scope
    words = body["query"]["bool"]["should"]
    assert body["query"]["bool"]["minimum_should_match"] == 2  # half of the three words
    assert words[0]["multi_match"]["query"] == "модем" and "query_string" not in str(body)
    assert [w["multi_match"]["query"] for w in words[1:]] == ["or", "visibility:internal"]
    assert body["highlight"]["encoder"] == "html"


def test_answers_parse_into_hits_and_a_total() -> None:
    res = article_response({"hits": {"total": {"value": 4}, "hits": [
        {"_score": 2.0, "_source": {"article_id": "a"}, "highlight": {"title": ["<mark>M</mark>"], "x": ["y"]}}]}})
    assert res.total == 4 and res.hits[0].article_id == "a" and [h.field for h in res.hits[0].highlights] == ["title"]


class Cluster:
    """What the adapter asks of the cluster for versions and counts (the stand-in answers like OpenSearch)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []

    async def mget(self, index: str, body: dict[str, Any], _source: list[str]) -> dict[str, Any]:
        self.asked.append(("mget", (index, body, _source)))
        return {"docs": [{"_id": "a", "found": True, "_source": {"version": 4}}, {"_id": "b", "found": False}]}

    async def count(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(("count", (index, body)))
        return {"count": 2}


async def test_versions_are_read_by_id_and_only_published_articles_are_counted() -> None:
    articles = OpenSearchArticles(SearchSettings(engine="opensearch"))
    cluster = Cluster()
    articles.client = cluster  # type: ignore[assignment]
    assert await articles.versions([]) == {} and cluster.asked == []
    assert await articles.versions(["a", "b"]) == {"a": 4}
    assert await articles.count() == 2
    assert cluster.asked == [("mget", ("frontline-articles", {"ids": ["a", "b"]}, ["version"])),
                             ("count", ("frontline-articles", {"query": {"term": {"status": "published"}}}))]
    await articles.stop()
