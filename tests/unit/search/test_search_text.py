"""Query words and highlighted fragments (pure): syntax is text, fragments are escaped, offsets are characters."""

from __future__ import annotations

import pytest

from services.search.text import MAX_WORDS, QueryError, char_ranges, id_prefix, mark, words


def test_words_are_lowercased_trimmed_and_deduplicated() -> None:
    assert words('  "Подключение"  (connection) subject:x connection ') == ["подключение", "connection", "subject:x"]
    assert id_prefix("#1234") == "1234" and id_prefix("+7495") == "7495" and id_prefix("anna@x.") == "anna@x"


@pytest.mark.parametrize("q", ["", "   ", "()", '"" ** !!', " ".join(["w"] * (MAX_WORDS + 1))])
def test_nothing_to_search_or_too_much_is_refused(q: str) -> None:
    with pytest.raises(QueryError):
        words(q)


def test_fragments_are_escaped_around_the_marks() -> None:
    fragment = '<img src=x onerror="alert(1)"> связь & <b>'
    start = fragment.index("связь")
    html = mark(fragment, [(start, start + 5)])
    assert html == '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>связь</mark> &amp; &lt;b&gt;'
    assert mark("abc", [(0, 2), (1, 3)]) == "<mark>ab</mark><mark>c</mark>"
    assert mark("abc", [(5, 9)]) == "abc"


def test_byte_offsets_become_character_offsets() -> None:
    fragment = "нет связи"
    start = fragment.encode().index("связи".encode())
    assert char_ranges(fragment, [(start, start + len("связи".encode()))]) == [(4, 9)]
