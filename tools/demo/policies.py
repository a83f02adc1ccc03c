"""The demo desk's rules: business calendar, escalation ladders, SLA policies, classification, urgency, templates."""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
MINUTE, HOUR = 60, 3600

CALENDARS: list[Doc] = [{
    "id": "msk-business", "name": {"ru": "Будни 9–18 (Москва)", "en": "Weekdays 9–18 (Moscow)"},
    "timezone": "Europe/Moscow", "hours": [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)],
    "holidays": ["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-02-23",
                 "2026-03-09", "2026-05-01", "2026-05-11", "2026-06-12", "2026-11-04", "2026-12-31"],
}]
LADDERS: list[Doc] = [
    {"id": "demo", "name": {"ru": "Эскалация (демо)", "en": "Escalation (demo)"}, "steps": [
        {"step": 1, "start": "assigned", "after_seconds": 15 * MINUTE, "condition": "not_in_progress",
         "action": "add_participant", "roles": ["head_of_service"], "set_flag": "long_ignored",
         "reason": "not in progress 15 minutes after assignment"},
        {"step": 2, "start": "breached", "after_seconds": 0, "condition": "unresolved", "roles": ["group_lead"],
         "reason": "SLA target breached"},
        {"step": 3, "start": "breached", "after_seconds": 4 * HOUR, "condition": "unresolved",
         "roles": ["head_of_service"], "reason": "still unresolved 4 h after the breach"}]},
    # The pilot's ladder runs in seconds, so the demo shows its effects while you watch.
    {"id": "fast", "name": {"ru": "Быстрая эскалация (пилот)", "en": "Fast escalation (pilot)"}, "steps": [
        {"step": 1, "start": "assigned", "after_seconds": 30, "condition": "not_in_progress",
         "action": "add_participant", "roles": ["head_of_service"], "set_flag": "long_ignored",
         "reason": "not in progress 30 seconds after assignment"},
        {"step": 2, "start": "breached", "after_seconds": 0, "condition": "unresolved", "roles": ["group_lead"],
         "reason": "SLA target breached"}]},
]
POLICIES: list[Doc] = [
    {"id": "premium", "name": {"ru": "Премиум", "en": "Premium"}, "categories": ["premium"],
     "calendar_id": "msk-business", "ladder_id": "demo",
     "targets": {"first_response_seconds": 15 * MINUTE, "take_into_work_seconds": 30 * MINUTE,
                 "resolution_seconds": 8 * HOUR},
     "norms": [{"ticket_type": "complaint", "targets": {"first_response_seconds": 10 * MINUTE}}]},
    {"id": "business", "name": {"ru": "Бизнес", "en": "Business"}, "categories": ["business", "standard"],
     "calendar_id": "msk-business", "ladder_id": "demo",
     "targets": {"first_response_seconds": 4 * HOUR, "resolution_seconds": 24 * HOUR}},
    {"id": "pilot", "name": {"ru": "Пилот: ответ за минуту", "en": "Pilot: answer within a minute"},
     "categories": ["pilot"], "calendar_id": "24x7", "ladder_id": "fast",
     "targets": {"first_response_seconds": MINUTE, "resolution_seconds": 30 * MINUTE}},
]


def _sub(id: str, ru: str, en: str, **extra: Any) -> Doc:
    return {"id": id, "name": {"ru": ru, "en": en}, **extra}


CLASSIFICATION: list[Doc] = [
    {"id": "internet", "name": {"ru": "Доступ в интернет", "en": "Internet access"}, "types": [
        {"type": "complaint", "line": "second", "subtopics": [
            _sub("no_connection", "Нет связи", "No connection"), _sub("low_speed", "Низкая скорость", "Low speed")]},
        {"type": "request", "subtopics": [
            _sub("tariff_change", "Смена тарифа", "Tariff change", line="commercial")]},
        {"type": "consultation", "subtopics": [_sub("router_setup", "Настройка роутера", "Router set-up")]}]},
    {"id": "billing", "name": {"ru": "Счета и оплата", "en": "Billing"}, "types": [
        {"type": "request", "subtopics": [_sub("invoice_copy", "Копия счёта", "Invoice copy")]},
        {"type": "complaint", "subtopics": [_sub("wrong_invoice", "Ошибка в счёте", "Wrong invoice")]}]},
]
URGENCY: list[Doc] = [
    {"id": "no-connection", "urgency": "urgent", "order": 10,
     "keywords": ["нет связи", "не работает интернет", "no connection", "internet is down"]},
    {"id": "billing", "urgency": "normal", "order": 20, "topics": ["billing"]},
]
TEMPLATES: list[Doc] = [
    {"id": "en.ticket_opened", "subject": "[#{{ number }}] New: {{ subject or \"(no subject)\" }}",
     "text": "Hello {{ recipient_name }},\n\nTicket #{{ number }}{% if client_name %} from {{ client_name }}"
             "{% endif %} is waiting for you.\n\n{{ text }}\n"},
    {"id": "ru.ticket_opened", "subject": "[#{{ number }}] Новое: {{ subject or \"(без темы)\" }}",
     "text": "Здравствуйте, {{ recipient_name }}!\n\nОбращение №{{ number }}{% if client_name %} от "
             "{{ client_name }}{% endif %} ждёт вас.\n\n{{ text }}\n"},
]
