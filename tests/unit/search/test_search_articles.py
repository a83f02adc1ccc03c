"""The article index's pure parts and the embedded engine in memory: a published state is a document with words, a
withdrawal one without; the reader's scope is the one visibility rule (published ones only), applied before hits are
counted; words stem in Russian and English; the index tells each article's version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.search.article_query import article_filter, article_query
from services.search.articles import article_doc
from services.search.filters import AllOf, AnyOf, Term
from services.search.tantivy_articles import TantivyArticles
from shared.contracts.article_search import ArticleScope, ArticleSearchRequest
from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleText, ArticleWithdrawn

AT = datetime(2026, 3, 1, tzinfo=UTC)


def indexed(article_id: str, visibility: str = "public", categories: tuple[str, ...] = (),
            **content: tuple[str, str]) -> ArticlePublishedState:
    return ArticlePublishedState(
        article_id=article_id, version=3, visibility=visibility, client_categories=list(categories),  # type: ignore[arg-type]
        categories=["internet"], tags=["router"], updated_at=AT, published_at=AT,
        content={lang: ArticleText(title=t, text=x) for lang, (t, x) in content.items()})  # type: ignore[misc]


def withdrawn(article_id: str, status: str = "archived", version: int = 4) -> ArticleWithdrawn:
    return ArticleWithdrawn(article_id=article_id, version=version, status=status, updated_at=AT)  # type: ignore[arg-type]


def ask(q: str, audience: str, client_category: str | None = None, **extra: Any) -> ArticleSearchRequest:
    return ArticleSearchRequest(q=q, scope=ArticleScope(audience=audience, client_category=client_category),  # type: ignore[arg-type]
                                **extra)


@pytest.mark.parametrize("status", ["draft", "review", "archived"])
def test_only_a_published_article_becomes_a_document_with_words(status: str) -> None:
    doc = article_doc(withdrawn("a", status))
    assert doc is not None and doc.status == status and doc.version == 4
    assert (doc.title, doc.text, doc.labels, doc.categories, doc.tags) == ("", "", "", [], [])


def test_a_document_holds_every_languages_title_and_text_and_its_labels() -> None:
    doc = article_doc(indexed("a", ru=("Модем", "Сбросьте настройки"), en=("Modem", "Reset the settings")))
    assert doc is not None
    assert "Модем" in doc.title and "Modem" in doc.title
    assert "Сбросьте" in doc.text and "Reset" in doc.text
    assert doc.labels.split() == ["router", "internet"] and doc.languages == ["ru", "en"]


def test_the_scope_is_the_shared_visibility_rule_in_index_terms() -> None:
    published = Term("status", ("published",))  # whoever reads: withdrawn articles stay in the index, wordless
    client = article_filter(ask("x", "client", "premium"))
    assert client == AllOf((published, AllOf((published, AnyOf((
        Term("visibility", ("public",)),
        AllOf((Term("visibility", ("categories",)), Term("client_categories", ("premium",)))))))),))
    assert article_filter(ask("x", "client")) == AllOf((published, AllOf((published,
                                                                          AnyOf((Term("visibility", ("public",)),)))),))
    assert article_filter(ask("x", "staff", tag="vpn", category="internet")) == AllOf((
        published, published, Term("categories", ("internet",)), Term("tags", ("vpn",))))
    assert article_filter(ask("x", "editor")) == AllOf((published, AllOf(())))


@pytest.fixture
async def engine() -> Any:
    index = TantivyArticles(None)
    await index.start()
    docs = [article_doc(indexed("pub", en=("Router drops the connection", "Restart the router"),
                                ru=("Роутер теряет подключение", "Перезагрузите роутер"))),
            article_doc(indexed("int", visibility="internal", en=("Router connection runbook", "Escalate to NOC"))),
            article_doc(indexed("prem", visibility="categories", categories=("premium",),
                                en=("Premium router connection", "Call your manager")))]
    await index.upsert([d for d in docs if d is not None])
    yield index
    await index.stop()


async def found(engine: TantivyArticles, req: ArticleSearchRequest) -> tuple[int, set[str]]:
    res = await engine.search(article_query(req))
    return res.total, {h.article_id for h in res.hits}


async def test_hits_and_totals_are_counted_after_the_scope(engine: TantivyArticles) -> None:
    assert await found(engine, ask("connection", "staff")) == (3, {"pub", "int", "prem"})
    assert await found(engine, ask("connection", "client")) == (1, {"pub"})
    assert await found(engine, ask("connection", "client", "premium")) == (2, {"pub", "prem"})
    assert await found(engine, ask("runbook", "client", "premium")) == (0, set())  # not even as a count


async def test_words_stem_in_both_languages_and_hits_are_highlighted(engine: TantivyArticles) -> None:
    assert (await found(engine, ask("подключения", "client")))[1] == {"pub"}
    assert (await found(engine, ask("connections", "client")))[1] == {"pub"}
    assert (await found(engine, ask("routers", "client", tag="router", category="internet")))[1] == {"pub"}
    assert (await found(engine, ask("routers", "client", tag="other")))[1] == set()
    hit = (await engine.search(article_query(ask("перезагрузите", "client")))).hits[0]
    assert any("<mark>" in h.html for h in hit.highlights), hit


async def test_a_withdrawn_article_is_no_hit_for_anyone_nor_counted_but_its_version_is_kept(
        engine: TantivyArticles) -> None:
    again = article_doc(indexed("pub", en=("Router drops the connection", "Restart the router")))
    assert again is not None
    await engine.upsert([again])
    await engine.upsert([again])
    assert await engine.count() == 3 and await engine.versions(["pub", "int", "ghost"]) == {"pub": 3, "int": 3}
    gone = article_doc(withdrawn("pub"))
    assert gone is not None
    await engine.upsert([gone])
    assert await found(engine, ask("connection", "client")) == (0, set())
    for audience in ("staff", "editor"):
        assert "pub" not in (await found(engine, ask("connection router restart", audience)))[1]
    assert await engine.count() == 2 and await engine.versions(["pub"]) == {"pub": 4}


async def test_a_question_finds_its_article_by_half_its_words_and_stop_words_count_for_nothing(
        engine: TantivyArticles) -> None:
    assert (await found(engine, ask("the router restart procedure", "client")))[1] == {"pub"}  # 2 of 3 words
    assert (await found(engine, ask("router warranty teleporter", "client")))[1] == set()  # 1 of 3: no hit
    assert await found(engine, ask("the of and", "client")) == (0, set())
