"""The embedded engine's ticket index: a tantivy index on disk (``SEARCH_INDEX_DIR``), one writer per process.

Its schema, analyzer and query building are in ``tantivy_query.py``; what every tantivy index shares in
``tantivy_base.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import tantivy as tv

from shared.contracts.search_api import Highlight, SearchHit, SearchResponse

from .domain import IndexDoc
from .engine import Query
from .tantivy_base import TantivyBase
from .tantivy_query import all_of, filter_query, schema, text_fields, word_query


class TantivyIndex(TantivyBase):
    def __init__(self, path: str | None, heap_bytes: int = 50_000_000) -> None:
        """``path`` None: in memory (unit tests and the benchmark's comparisons)."""
        super().__init__(path, heap_bytes, schema())

    def _document(self, d: IndexDoc) -> tv.Document:
        doc = tv.Document(ticket_id=d.ticket_id, number=d.number, subject=d.subject, text=d.text, notes=d.notes,
                          people=d.people, status=d.status, line=d.line, group_id=d.group_id,
                          service_team_id=d.service_team_id, assignee_id=d.assignee_id, client_id=d.client_id,
                          contact_id=d.contact_id,
                          created_at=int(d.created_at.timestamp()), updated_at=int(d.updated_at.timestamp()))
        for name in ("ids", "participants", "tags"):
            for value in getattr(d, name):
                doc.add_text(name, value)
        return doc

    async def upsert(self, docs: Sequence[IndexDoc]) -> None:
        built = [(d.ticket_id, self._document(d)) for d in docs]

        def change(w: Any) -> None:
            for ticket_id, doc in built:
                w.delete_documents_by_term("ticket_id", ticket_id)
                w.add_document(doc)

        await self._write(change)

    async def delete(self, ticket_ids: Sequence[str]) -> None:
        await self._delete("ticket_id", ticket_ids)

    async def search(self, query: Query) -> SearchResponse:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: Query) -> SearchResponse:
        text = all_of([word_query(self.schema, self.analyzer, w, query.notes) for w in query.words])
        scope = tv.Query.const_score_query(filter_query(self.schema, query.filter), 0.0)  # filters do not rank
        full = tv.Query.boolean_query([(tv.Occur.Must, text), (tv.Occur.Must, scope)])
        searcher = self.index.searcher()
        result = searcher.search(full, query.limit, count=True)
        snippets = self._snippets(searcher, text, text_fields(query.notes))
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            highlights = [Highlight(field=f, html=h) for f, h in self._highlights(snippets, doc)]  # type: ignore[arg-type]
            hits.append(SearchHit(ticket_id=doc["ticket_id"][0], number=doc["number"][0], score=float(score),
                                  highlights=highlights))
        return SearchResponse(total=int(getattr(result, "count", 0) or 0), hits=hits)  # not in the stubs
