"""What every embedded (tantivy) index shares: one directory on disk, one writer per process, writes serialised and
committed before they return, and highlighted fragments cut from a hit's stored texts."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import tantivy as tv

from .tantivy_query import ANALYZER, SNIPPET_CHARS, analyzer
from .text import char_ranges, mark

log = logging.getLogger(__name__)


async def _finished(work: asyncio.Future[None]) -> None:
    """Await a thread's work; cancelled, still hold the caller's lock until the thread is done (it cannot stop)."""
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await work
        raise


class TantivyBase:
    def __init__(self, path: str | None, heap_bytes: int, schema: tv.Schema, analyzer_name: str = ANALYZER,
                 text_analyzer: tv.TextAnalyzer | None = None) -> None:
        """``path`` None: in memory (unit tests and the benchmark's comparisons)."""
        self.path, self.heap = path, heap_bytes
        self.schema, self.analyzer_name, self.analyzer = schema, analyzer_name, text_analyzer or analyzer()
        self._index: tv.Index | None = None
        self._writer: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        if self.path:
            Path(self.path).mkdir(parents=True, exist_ok=True)
        try:
            self._index = tv.Index(self.schema, path=self.path, reuse=True)
        except ValueError as exc:
            # an index an older build wrote: emptied, then filled again from what it mirrors (the service's
            # stored ticket states, the article topic) instead of stopping the start
            if not self.path or "schema does not match" not in str(exc):
                raise
            log.warning("index of another schema emptied; it is filled again", extra={"path": self.path})
            shutil.rmtree(self.path)
            Path(self.path).mkdir(parents=True)
            self._index = tv.Index(self.schema, path=self.path, reuse=True)
        self._index.register_tokenizer(self.analyzer_name, self.analyzer)
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

    async def _write(self, change: Callable[[Any], Any]) -> None:
        def run() -> None:
            change(self._writer)
            self._writer.commit()
            self.index.reload()

        async with self._lock:
            await _finished(asyncio.ensure_future(asyncio.to_thread(run)))

    async def _delete(self, field: str, ids: Iterable[str]) -> None:
        await self._write(lambda w: [w.delete_documents_by_term(field, i) for i in ids])

    async def clear(self) -> None:
        await self._write(lambda w: w.delete_all_documents())

    async def count(self) -> int:
        return int(self.index.searcher().num_docs)

    def _snippets(self, searcher: Any, text: tv.Query, fields: Iterable[str]) -> dict[str, Any]:
        snippets = {}
        for field in fields:
            gen = tv.SnippetGenerator.create(searcher, text, self.schema, field)
            gen.set_max_num_chars(SNIPPET_CHARS)
            snippets[field] = gen
        return snippets

    @staticmethod
    def _highlights(snippets: dict[str, Any], doc: Any) -> list[tuple[str, str]]:
        """(field, HTML-escaped fragment with <mark>s) for each field the query matched in ``doc``."""
        found = []
        for field, gen in snippets.items():
            snippet = gen.snippet_from_doc(doc)
            ranges = [(r.start, r.end) for r in snippet.highlighted()]
            if ranges:
                fragment = snippet.fragment()
                found.append((field, mark(fragment, char_ranges(fragment, ranges))))
        return found
