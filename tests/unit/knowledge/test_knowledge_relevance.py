"""The word-overlap scorer (pure): stems in Russian and English, the title weighs most, nothing shared is no hit."""

from __future__ import annotations

from services.knowledge.relevance import Doc, WordOverlap, normalise_query, stems

DOCS = [Doc("router", "Роутер не раздаёт интернет", "Перезагрузите роутер и проверьте кабель провайдера", ["wifi"]),
        Doc("password", "Смена пароля в личном кабинете", "Откройте профиль и нажмите «Сменить пароль»"),
        Doc("printer", "Printer jams", "Open the tray and remove the stuck paper", ["office"]),
        Doc("cable", "Прокладка кабеля", "Роутер ставится после прокладки")]


def test_russian_and_english_words_meet_their_inflections() -> None:
    assert stems("роутеры Роутера роутер") == {"роутер"}
    assert stems("Printers printing") == {"printer", "print"}
    assert stems("и в на the a") == set()  # stop words only


def test_the_ticket_text_ranks_the_matching_article_first_and_the_title_weighs_most() -> None:
    ranked = WordOverlap().rank("Добрый день! С утра роутер не раздаёт интернет, горит красный", DOCS, 5)
    assert ranked[0][0] == "router"
    assert [i for i, _ in ranked].index("cable") > 0  # "роутер" only in its body
    assert WordOverlap().rank("paper jam in the printer", DOCS, 5)[0][0] == "printer"


def test_nothing_shared_is_no_hit_and_the_threshold_and_limit_hold() -> None:
    assert WordOverlap().rank("погода в Москве", DOCS, 5) == []
    assert WordOverlap().rank("", DOCS, 5) == []
    assert WordOverlap().rank("роутер", DOCS, 1) == [("router", WordOverlap().rank("роутер", DOCS, 1)[0][1])]
    assert WordOverlap().rank("роутер кабель пароль принтер", DOCS, 5, min_score=2.5) == []


def test_queries_meaning_the_same_share_one_gap_key() -> None:
    assert normalise_query("Сменить ПАРОЛИ") == normalise_query("пароль сменить") != ""
    assert normalise_query("и в на") == ""
