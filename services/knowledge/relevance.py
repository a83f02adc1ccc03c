"""How relevant an article is to some text: normalised word overlap over title, tags and body, on Russian and
English stems (Snowball), a title word weighing most. Pure and small on purpose, behind ``Ranker``: it scores the
suggestions (a ticket's text, what a client types in a new request); searches by words go to the search service's
article index. ``normalise_query`` keys the content-gap report."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import snowballstemmer

WORD = re.compile(r"[^\W_]+", re.UNICODE)
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
WEIGHTS = {"title": 3.0, "tags": 2.0, "body": 1.0}
STOP = frozenset("""a an and are as at be but by do for from has have how i in is it its my no not of on or our so
that the this to was we what when where which who why will with you your и в во не что он на я с со как а то все она
так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли
если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо
ней для мы тебя их чем была сам чтобы без будто чего раз тоже себе под будет ж тогда кто этот того потому этого
какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два
об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою
этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между""".split())


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    body: str
    tags: Sequence[str] = ()


class Ranker(Protocol):
    def rank(self, query: str, docs: Sequence[Doc], limit: int, min_score: float = 0.0) -> list[tuple[str, float]]:
        """Ids of the docs that share words with the query, best first, with a score."""
        ...


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.Stemmer:
    return snowballstemmer.stemmer(language)


def stems(text: str) -> set[str]:
    """The text's content words as stems: lower case, ё as е, stop words and single letters left out."""
    found = set()
    for word in WORD.findall(text.lower().replace("ё", "е")):
        if len(word) < 2 or word in STOP:
            continue
        found.add(_stemmer("russian" if CYRILLIC.search(word) else "english").stemWord(word))
    return found


def normalise_query(text: str) -> str:
    """One key for searches that mean the same (case, word order, inflections): the content-gap report's key."""
    return " ".join(sorted(stems(text)))[:500]


def _weights(doc: Doc) -> dict[str, float]:
    weights: dict[str, float] = {}
    for field, words in (("body", stems(doc.body)), ("tags", stems(" ".join(doc.tags))), ("title", stems(doc.title))):
        for s in words:
            weights[s] = WEIGHTS[field]  # the heaviest field a word appears in counts (title last)
    return weights


class WordOverlap:
    """Σ over shared stems of field weight × idf, divided by the query's total idf: 3.0 means every query word is
    in the title, 0 that none is anywhere; words every article has count for little."""

    def rank(self, query: str, docs: Sequence[Doc], limit: int, min_score: float = 0.0) -> list[tuple[str, float]]:
        wanted = stems(query)
        if not wanted or not docs:
            return []
        weighted = [(d.id, _weights(d)) for d in docs]
        df = _document_frequency(wanted, (w for _, w in weighted))
        idf = {s: math.log((len(docs) + 1) / (df[s] + 0.5)) for s in wanted}
        total = sum(idf.values()) or 1.0
        scored = [(doc_id, sum(w[s] * idf[s] for s in wanted if s in w) / total) for doc_id, w in weighted]
        hits = [(doc_id, round(score, 4)) for doc_id, score in scored if score > 0 and score >= min_score]
        return sorted(hits, key=lambda h: (-h[1], h[0]))[:limit]


def _document_frequency(wanted: set[str], docs: Iterable[dict[str, float]]) -> dict[str, int]:
    df = dict.fromkeys(wanted, 0)
    for weights in docs:
        for s in wanted:
            df[s] += s in weights
    return df
