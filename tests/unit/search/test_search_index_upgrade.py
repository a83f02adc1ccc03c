"""An embedded ticket index an older build wrote (another schema) is emptied at start instead of stopping the search
service; the indexer then fills an empty index from every stored ticket state (services/search/indexer.py)."""

from __future__ import annotations

from pathlib import Path

import tantivy as tv

from services.search.tantivy_index import TantivyIndex


async def test_a_ticket_index_on_disk_with_another_schema_is_started_afresh(tmp_path: Path) -> None:
    old = tv.SchemaBuilder()
    old.add_text_field("ticket_id", stored=True)
    writer = tv.Index(old.build(), path=str(tmp_path), reuse=True).writer(15_000_000, 1)
    writer.add_document(tv.Document(ticket_id="stale"))
    writer.commit()
    writer.wait_merging_threads()
    index = TantivyIndex(str(tmp_path))
    await index.start()
    try:
        assert await index.count() == 0
    finally:
        await index.stop()
