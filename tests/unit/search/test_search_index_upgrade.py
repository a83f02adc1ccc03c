"""An embedded index an older build wrote (another schema) is emptied at start instead of stopping the search service
(``TantivyBase``); the indexer then fills an empty ticket index from every stored state, and the article index is
filled again from ``knowledge.articles``."""

from __future__ import annotations

from pathlib import Path

import pytest
import tantivy as tv

from services.search.tantivy_articles import TantivyArticles
from services.search.tantivy_base import TantivyBase
from services.search.tantivy_index import TantivyIndex


def stale_index(path: Path, field: str) -> None:
    old = tv.SchemaBuilder()
    old.add_text_field(field, stored=True)
    writer = tv.Index(old.build(), path=str(path), reuse=True).writer(15_000_000, 1)
    writer.add_document(tv.Document(**{field: "stale"}))
    writer.commit()
    writer.wait_merging_threads()


@pytest.mark.parametrize(("kind", "field"), [(TantivyIndex, "ticket_id"), (TantivyArticles, "article_id")])
async def test_an_index_on_disk_with_another_schema_is_started_afresh(
        tmp_path: Path, kind: type[TantivyBase], field: str) -> None:
    stale_index(tmp_path, field)
    index = kind(str(tmp_path))  # type: ignore[call-arg]
    await index.start()
    try:
        assert await index.count() == 0
        if isinstance(index, TantivyArticles):
            assert await index.versions(["stale"]) == {}
    finally:
        await index.stop()
