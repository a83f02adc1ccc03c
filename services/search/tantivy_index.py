"""The embedded engine: a tantivy index on disk (``SEARCH_INDEX_DIR``), one writer per process.

Its schema, analyzer and query building are in ``tantivy_query.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tantivy as tv

from shared.contracts.search_api import Highlight, SearchHit, SearchResponse

from .domain import IndexDoc
from .engine import Query
from .tantivy_query import ANALYZER, SNIPPET_CHARS, all_of, analyzer, filter_query, schema, text_fields, word_query
from .text import char_ranges, mark


async def _finished(work: asyncio.Future[None]) -> None:
    """Await a thread's work; cancelled, still hold the caller's lock until the thread is done (it cannot stop)."""
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await work
        raise


class TantivyIndex:
    def __init__(self, path: str | None, heap_bytes: int = 50_000_000) -> None:
        """``path`` None: in memory (unit tests and the benchmark's comparisons)."""
        self.path, self.heap = path, heap_bytes
        self.schema, self.analyzer = schema(), analyzer()
        self._index: tv.Index | None = None
        self._writer: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        if self.path:
            Path(self.path).mkdir(parents=True, exist_ok=True)
        self._index = tv.Index(self.schema, path=self.path, reuse=True)
        self._index.register_tokenizer(ANALYZER, self.analyzer)
        self._writer = self._index.writer(self.heap, 1)

    async def stop(self) -> None:
        if self._writer is not None:
            async with self._lock:
                await _finished(asyncio.ensure_future(asyncio.to_thread(self._writer.wait_merging_threads)))
        self._writer = self._index = None

    @property
    def index(self) -> tv.Index:
        if self._index is None:
            raise RuntimeError("search index not started")
        return self._index

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

    async def _write(self, change: Any) -> None:
        def run() -> None:
            change(self._writer)
            self._writer.commit()
            self.index.reload()

        async with self._lock:
            await _finished(asyncio.ensure_future(asyncio.to_thread(run)))

    async def upsert(self, docs: Sequence[IndexDoc]) -> None:
        built = [(d.ticket_id, self._document(d)) for d in docs]

        def change(w: Any) -> None:
            for ticket_id, doc in built:
                w.delete_documents_by_term("ticket_id", ticket_id)
                w.add_document(doc)

        await self._write(change)

    async def delete(self, ticket_ids: Sequence[str]) -> None:
        await self._write(lambda w: [w.delete_documents_by_term("ticket_id", t) for t in ticket_ids])

    async def clear(self) -> None:
        await self._write(lambda w: w.delete_all_documents())

    async def count(self) -> int:
        return int(self.index.searcher().num_docs)

    async def search(self, query: Query) -> SearchResponse:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: Query) -> SearchResponse:
        text = all_of([word_query(self.schema, self.analyzer, w, query.notes) for w in query.words])
        scope = tv.Query.const_score_query(filter_query(self.schema, query.filter), 0.0)  # filters do not rank
        full = tv.Query.boolean_query([(tv.Occur.Must, text), (tv.Occur.Must, scope)])
        searcher = self.index.searcher()
        result = searcher.search(full, query.limit, count=True)
        snippets = {}
        for field in text_fields(query.notes):
            gen = tv.SnippetGenerator.create(searcher, text, self.schema, field)
            gen.set_max_num_chars(SNIPPET_CHARS)
            snippets[field] = gen
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            highlights = []
            for field, gen in snippets.items():
                snippet = gen.snippet_from_doc(doc)
                ranges = [(r.start, r.end) for r in snippet.highlighted()]
                if ranges:
                    fragment = snippet.fragment()
                    highlights.append(Highlight(field=field, html=mark(fragment, char_ranges(fragment, ranges))))
            hits.append(SearchHit(ticket_id=doc["ticket_id"][0], number=doc["number"][0], score=float(score),
                                  highlights=highlights))
        return SearchResponse(total=int(getattr(result, "count", 0) or 0), hits=hits)  # not in the stubs
