"""The article workflow, its versions and who sees what (pure): the filter and the predicate agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.knowledge import domain
from services.knowledge.domain import Article, News, Refused
from shared.contracts.knowledge_api import ArticleIn, NewsIn, Text, Viewer

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
CLIENT = Viewer(user_id="c", audience="client", client_category="premium")
OTHER_CLIENT = Viewer(user_id="d", audience="client", client_category="standard")
STAFF = Viewer(user_id="s", audience="staff")
EDITOR = Viewer(user_id="e", audience="editor")


def body(title: str = "Router", visibility: str = "public", **extra: object) -> ArticleIn:
    return ArticleIn.model_validate({"content": {"en": {"title": title, "body": "text"}}, "visibility": visibility,
                                     **extra})


def published(data: ArticleIn) -> Article:
    article, _ = domain.create("A1", data, "admin", AT)
    article, _ = domain.transition(article, "submit", "admin", AT)
    return domain.transition(article, "publish", "lead", AT)[0]


def test_the_workflow_goes_draft_review_published_archived_and_refuses_shortcuts() -> None:
    article, v1 = domain.create("A1", body(), "admin", AT)
    assert (article.status, v1.version, v1.action) == ("draft", 1, "create")
    assert v1.changed == ["content.en", "visibility"]
    with pytest.raises(Refused):
        domain.transition(article, "publish", "lead", AT)  # a draft is reviewed first
    article, v2 = domain.transition(article, "submit", "admin", AT)
    article, v3 = domain.transition(article, "publish", "lead", AT + timedelta(hours=1))
    assert (article.status, article.version, article.published_at) == ("published", 3, AT + timedelta(hours=1))
    assert (v2.by, v3.by, v3.changed) == ("admin", "lead", ["status"])
    article, _ = domain.transition(article, "archive", "lead", AT)
    with pytest.raises(Refused):
        domain.edit(article, body("New"), "admin", AT, can_publish=True)
    article, v5 = domain.transition(article, "restore", "admin", AT)
    assert (article.status, v5.version) == ("draft", 5)


def test_every_save_is_a_version_naming_what_changed_and_an_edit_under_review_goes_back_to_draft() -> None:
    article, _ = domain.create("A1", body(), "admin", AT)
    article, _ = domain.transition(article, "submit", "admin", AT)
    assert domain.edit(article, body(), "admin", AT, can_publish=False) is None  # nothing changed: no version
    edited = domain.edit(article, body("Router, again", tags=["wifi"]), "ann", AT + timedelta(minutes=5), False)
    assert edited is not None
    article, version = edited
    assert (article.status, version.version, version.by, version.at) == ("draft", 3, "ann", AT + timedelta(minutes=5))
    assert version.changed == ["content.en", "tags"]


def test_a_live_article_is_edited_only_by_someone_who_may_publish_and_stays_live() -> None:
    article = published(body())
    with pytest.raises(Refused):
        domain.edit(article, body("Changed"), "writer", AT, can_publish=False)
    edited = domain.edit(article, body("Changed"), "admin", AT, can_publish=True)
    assert edited is not None and edited[0].status == "published"


@pytest.mark.parametrize(("data", "status", "seen_by"), [
    (body(visibility="public"), "published", {"client", "other", "staff", "editor"}),
    (body(visibility="internal"), "published", {"staff", "editor"}),
    (body(visibility="categories", client_categories=["premium"]), "published", {"client", "staff", "editor"}),
    (body(visibility="public"), "draft", {"editor"}),
    (body(visibility="public"), "review", {"editor"}),
    (body(visibility="public"), "archived", {"editor"}),
])
def test_visibility_filter_and_predicate_agree(data: ArticleIn, status: str, seen_by: set[str]) -> None:
    article = domain.create("A1", data, "admin", AT)[0].model_copy(update={"status": status})
    viewers = {"client": CLIENT, "other": OTHER_CLIENT, "staff": STAFF, "editor": EDITOR}
    assert {name for name, v in viewers.items() if domain.visible(v, article)} == seen_by
    for name, v in viewers.items():
        assert _matches(domain.visible_filter(v), article.model_dump()) == (name in seen_by), name


def test_categories_are_named_exactly_when_visibility_is_by_category() -> None:
    with pytest.raises(ValueError):
        body(visibility="categories")
    with pytest.raises(ValueError):
        body(visibility="public", client_categories=["premium"])


def test_news_shows_to_its_audience_only_between_its_dates() -> None:
    item = News(id="N", updated_at=AT, updated_by="a", **NewsIn(
        content={"en": Text(title="Maintenance")}, audience="clients", publish_at=AT,
        unpublish_at=AT + timedelta(days=1)).model_dump())
    assert not domain.news_shown(CLIENT, item, AT - timedelta(seconds=1))
    assert domain.news_shown(CLIENT, item, AT)
    assert not domain.news_shown(CLIENT, item, AT + timedelta(days=1))
    assert not domain.news_shown(STAFF, item, AT + timedelta(hours=1))  # for clients only
    with pytest.raises(ValueError):
        NewsIn(content={"en": Text(title="x")}, publish_at=AT, unpublish_at=AT)


def _matches(where: dict[str, object], doc: dict[str, object]) -> bool:
    """A tiny evaluator of the filter shapes visible_filter builds (equality, array contains, $or)."""
    for key, want in where.items():
        if key == "$or":
            assert isinstance(want, list)
            if not any(_matches(w, doc) for w in want):
                return False
            continue
        have = doc.get(key)
        if not (have == want or (isinstance(have, list) and want in have)):
            return False
    return True
