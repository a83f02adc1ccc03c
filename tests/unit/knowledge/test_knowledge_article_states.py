"""What knowledge.articles says after each change of an article (pure): its published version with the body as plain
text when it is published (an edit of a live article included); a withdrawal when a published article leaves that
status; nothing for changes that neither start nor end from a published version."""

from __future__ import annotations

from datetime import UTC, datetime

from services.knowledge import domain
from services.knowledge.article_states import article_state
from shared.contracts.knowledge_api import ArticleIn, Text
from shared.contracts.schemas.knowledge import ArticlePublishedState, ArticleWithdrawn

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def data(title: str) -> ArticleIn:
    return ArticleIn(content={"ru": Text(title=title, body="Нажмите **сброс** и [подождите](https://x.example)")},
                     visibility="categories", client_categories=["premium"], tags=["modem"], categories=["internet"])


def test_a_published_version_is_said_with_its_text_and_scope_and_a_withdrawal_ends_it() -> None:
    draft, _ = domain.create("a", data("Модем"), "root", AT)
    assert article_state(draft, None) is None
    review, _ = domain.transition(draft, "submit", "root", AT)
    assert article_state(review, draft) is None
    live, _ = domain.transition(review, "publish", "lea", AT)
    state = article_state(live, review)
    assert isinstance(state, ArticlePublishedState) and state.version == live.version == 3
    assert state.content["ru"].title == "Модем" and state.content["ru"].text.strip() == "Нажмите сброс и подождите"
    assert (state.visibility, state.client_categories, state.tags, state.categories) == (
        "categories", ["premium"], ["modem"], ["internet"])

    edited = domain.edit(live, data("Модем и роутер"), "lea", AT, can_publish=True)
    assert edited is not None
    again = article_state(edited[0], live)
    assert isinstance(again, ArticlePublishedState) and again.version == 4
    assert again.content["ru"].title == "Модем и роутер"

    archived, _ = domain.transition(edited[0], "archive", "lea", AT)
    gone = article_state(archived, edited[0])
    assert isinstance(gone, ArticleWithdrawn) and (gone.version, gone.status) == (5, "archived")
    restored, _ = domain.transition(archived, "restore", "root", AT)
    assert article_state(restored, archived) is None
