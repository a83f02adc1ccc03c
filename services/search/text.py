"""The words of a query and the highlighted fragments of a hit (pure).

A query is never handed to an engine's query language: it is cut into words here and each engine builds its
query from them, so quotes, colons, brackets or ``field:value`` in it are only text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

MAX_WORDS = 32
MAX_WORD_CHARS = 100
# Stripped from both ends of a word: punctuation around it is not what anyone looks for.
EDGES = "\"'`()[]{}<>,;:!?*^~|\\/=&«»“”„"


class QueryError(ValueError):
    """A query there is nothing to search for in, or too much."""


def words(q: str) -> list[str]:
    """The whitespace-separated words of a query, lowercased and trimmed of punctuation around them."""
    found = [w.strip(EDGES).lower() for w in q.split()]
    found = [w for w in found if w.strip(EDGES + ".-_+#№@")]
    if not found:
        raise QueryError("the query has no words to search for")
    if len(found) > MAX_WORDS:
        raise QueryError(f"a query has at most {MAX_WORDS} words")
    return list(dict.fromkeys(w[:MAX_WORD_CHARS] for w in found))


def id_prefix(word: str) -> str:
    """How a word is matched against numbers, e-mails and phones: ``#1234``, ``№1234`` and ``+7495`` included."""
    return word.lstrip("#№+").rstrip(".")


def mark(fragment: str, ranges: Iterable[tuple[int, int]]) -> str:
    """``fragment`` HTML-escaped, with each character range wrapped in ``<mark>``; overlapping ranges merged."""
    out: list[str] = []
    at = 0
    for start, end in sorted(ranges):
        start, end = max(start, at), min(end, len(fragment))
        if end <= start:
            continue
        out += [html.escape(fragment[at:start]), "<mark>", html.escape(fragment[start:end]), "</mark>"]
        at = end
    out.append(html.escape(fragment[at:]))
    return "".join(out)


def char_ranges(fragment: str, byte_ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte offsets into the fragment's UTF-8 (what tantivy reports) as character offsets."""
    raw = fragment.encode()

    def chars(b: int) -> int:
        return len(raw[:b].decode(errors="ignore"))

    return [(chars(s), chars(e)) for s, e in byte_ranges]
