"""The embedded engine's schema, analyzer and queries (tantivy): built from query words, never parsed.

Texts go through one analyzer that stems Russian and then English (each stemmer leaves the other alphabet alone),
so "подключения" finds "подключение" and "connections" finds "connection" in one field. Numbers, e-mails and
phones are kept whole in ``ids`` and matched by prefix; longer words also match with one typo.
"""

from __future__ import annotations

import tantivy as tv

from .filters import AllOf, AnyOf, Filter, Range, Term
from .text import id_prefix

ANALYZER = "ru_en"
ARTICLE_ANALYZER = "ru_en_stop"  # articles are searched with questions people type: their stop words are dropped
TEXTS = ("subject", "text", "people")  # public texts; "notes" for staff only
KEYWORDS = ("ticket_id", "ids", "status", "line", "group_id", "service_team_id", "assignee_id", "participants",
            "client_id", "contact_id", "tags")
ARTICLE_TEXTS = ("title", "text", "labels")
ARTICLE_KEYWORDS = ("article_id", "status", "visibility", "client_categories", "categories", "tags")
FUZZY_MIN = 5  # words this long also match with one typo
SNIPPET_CHARS = 200


def analyzer(stop_words: bool = False) -> tv.TextAnalyzer:
    b = tv.TextAnalyzerBuilder(tv.Tokenizer.simple()).filter(tv.Filter.remove_long(60)).filter(tv.Filter.lowercase())
    if stop_words:
        b = b.filter(tv.Filter.stopword("russian")).filter(tv.Filter.stopword("english"))
    return b.filter(tv.Filter.stemmer("russian")).filter(tv.Filter.stemmer("english")).build()


def schema() -> tv.Schema:
    b = tv.SchemaBuilder()
    for name in KEYWORDS:
        b.add_text_field(name, stored=name == "ticket_id", tokenizer_name="raw")
    for name in (*TEXTS, "notes"):
        b.add_text_field(name, stored=True, tokenizer_name=ANALYZER)
    b.add_integer_field("number", stored=True, indexed=True, fast=True)
    for name in ("created_at", "updated_at"):
        b.add_integer_field(name, indexed=True, fast=True)
    return b.build()


def article_schema() -> tv.Schema:
    b = tv.SchemaBuilder()
    for name in ARTICLE_KEYWORDS:
        b.add_text_field(name, stored=name == "article_id", tokenizer_name="raw")
    for name in ARTICLE_TEXTS:
        b.add_text_field(name, stored=True, tokenizer_name=ARTICLE_ANALYZER)
    b.add_integer_field("version", stored=True)  # compared before a write: an older state never replaces a newer one
    return b.build()


def any_of(clauses: list[tv.Query]) -> tv.Query:
    if not clauses:
        return tv.Query.empty_query()
    return clauses[0] if len(clauses) == 1 else tv.Query.boolean_query([(tv.Occur.Should, c) for c in clauses])


def all_of(clauses: list[tv.Query]) -> tv.Query:
    if not clauses:
        return tv.Query.all_query()
    return clauses[0] if len(clauses) == 1 else tv.Query.boolean_query([(tv.Occur.Must, c) for c in clauses])


def text_fields(notes: bool) -> tuple[str, ...]:
    return (*TEXTS, "notes") if notes else TEXTS


def stems_query(schema: tv.Schema, analyzer: tv.TextAnalyzer, word: str, fields: tuple[str, ...]) -> list[tv.Query]:
    """All the word's stems in some of ``fields`` (one typo allowed in long ones); empty when it has none."""
    per_term = []
    for term in analyzer.analyze(word):
        options = [tv.Query.term_query(schema, f, term) for f in fields]
        if len(term) >= FUZZY_MIN:
            options += [tv.Query.boost_query(tv.Query.fuzzy_term_query(schema, f, term, distance=1), 0.5)
                        for f in fields]
        per_term.append(any_of(options))
    return [all_of(per_term)] if per_term else []


def word_query(schema: tv.Schema, analyzer: tv.TextAnalyzer, word: str, notes: bool) -> tv.Query:
    """One query word: its stems in some text field, or a number, e-mail or phone it starts."""
    options = stems_query(schema, analyzer, word, text_fields(notes))
    if prefix := id_prefix(word):
        options.append(tv.Query.boost_query(
            tv.Query.fuzzy_term_query(schema, "ids", prefix, distance=0, prefix=True), 2.0))
    return any_of(options)


def filter_query(schema: tv.Schema, f: Filter) -> tv.Query:
    match f:
        case Term(field=field, values=values):
            return any_of([tv.Query.term_query(schema, field, v) for v in values])
        case Range(field=field, lower=lower, upper=upper):
            return tv.Query.range_query(schema, field, tv.FieldType.Integer,
                                        int(lower.timestamp()) if lower else None,
                                        int(upper.timestamp()) if upper else None)
        case AllOf(parts=parts):
            return all_of([filter_query(schema, p) for p in parts])
        case AnyOf(parts=parts):
            return any_of([filter_query(schema, p) for p in parts])
    raise TypeError(f"unknown filter {f!r}")

