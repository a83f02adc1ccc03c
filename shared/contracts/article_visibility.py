"""Who sees which knowledge article: the one rule, in two forms kept side by side so they cannot drift.

A MongoDB-shaped filter (the knowledge service's lists and counts; the search service translates the same filter
into its engine's terms) and a predicate (one article). A client sees published public articles and those for his
client category; staff see every published article; editors (leads, administrators) see every article in any status.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.contracts.knowledge_api import Audience


class Reader(Protocol):
    @property
    def audience(self) -> Audience: ...

    @property
    def client_category(self) -> str | None: ...


class Shown(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def visibility(self) -> str: ...

    @property
    def client_categories(self) -> list[str]: ...


def visible_filter(viewer: Reader) -> dict[str, Any]:
    if viewer.audience == "editor":
        return {}
    if viewer.audience == "staff":
        return {"status": "published"}
    shown: list[dict[str, Any]] = [{"visibility": "public"}]
    if viewer.client_category:
        shown.append({"visibility": "categories", "client_categories": viewer.client_category})
    return {"status": "published", "$or": shown}


def visible(viewer: Reader, article: Shown) -> bool:
    """The same rule as :func:`visible_filter`, for one article."""
    if viewer.audience == "editor":
        return True
    if article.status != "published":
        return False
    if viewer.audience == "staff" or article.visibility == "public":
        return True
    return article.visibility == "categories" and viewer.client_category in article.client_categories
