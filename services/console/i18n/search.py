"""Full-text search (issue 22): the header's box and the search page."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "search.title": ("Search tickets", "Поиск обращений"),
    "search.box": ("Search tickets", "Поиск обращений"),
    "search.words": ("Words, a ticket number, an e-mail or a phone", "Слова, номер обращения, e-mail или телефон"),
    "search.filters": ("Filters", "Фильтры"),
    "search.status": ("Status", "Статус"),
    "search.line": ("Line", "Линия"),
    "search.tag": ("Tag", "Метка"),
    "search.assignee": ("Assignee (id)", "Исполнитель (id)"),
    "search.created_from": ("Created from", "Создано с"),
    "search.created_to": ("Created up to", "Создано по"),
    "search.go": ("Search", "Найти"),
    "search.results": ("Found: {n}", "Найдено: {n}"),
    "search.nothing": ("Nothing found.", "Ничего не найдено."),
    "search.field.subject": ("Subject", "Тема"),
    "search.field.text": ("Message", "Сообщение"),
    "search.field.notes": ("Internal note", "Внутренняя заметка"),
    "search.field.people": ("Client", "Клиент"),
    "shortcuts.slash": ("Search", "Поиск"),
}
