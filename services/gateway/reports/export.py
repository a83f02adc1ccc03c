"""CSV and XLSX exports of reports and of a ticket's history. Pure: models in, bytes out.

Cells that come from clients (message texts, subjects) are neutralised so a spreadsheet never runs them as
formulas (CSV: a leading apostrophe; XLSX: the cell is forced to text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from pydantic import BaseModel

from .models import HistoryRow, Report, TicketHistory

Lang = Literal["en", "ru"]
Format = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_XLSX_TEXT = 32_767
MAX_SUMMARY = 500

HEADERS_RU: dict[str, str] = {
    "dimension": "Разрез", "key": "Значение", "target": "Норматив", "total": "Всего", "met": "Выполнено",
    "breached": "Нарушено", "pending": "В процессе", "met_share": "Доля выполненных",
    "breached_share": "Доля нарушенных", "agent_id": "Сотрудник", "in_work": "В работе", "closed": "Закрыто",
    "group": "Группа", "subgroup": "Подгруппа", "open": "Открыто", "done": "Решено", "share": "Доля",
    "day": "День", "opened": "Создано", "resolved": "Решено", "median_resolution_seconds": "Медиана решения, с",
    "good": "Хорошо", "bad": "Плохо", "not_mine": "Не моё обращение", "csat": "CSAT", "answered": "С ответом",
    "median_seconds": "Медиана, с", "p90_seconds": "90-й процентиль, с", "max_seconds": "Максимум, с",
    "over_threshold": "Дольше порога", "over_threshold_share": "Доля дольше порога",
    "long_ignored": "Долго без внимания", "channel": "Канал", "at": "Время (UTC)", "type": "Событие",
    "actor": "Кто", "summary": "Описание", "period_start": "Начало периода", "period_end": "Конец периода",
    "total_in_work": "Всего в работе", "total_closed": "Всего закрыто", "total_breached": "Всего с нарушением SLA",
    "group_by": "Группировка", "timezone": "Часовой пояс", "opened_total": "Всего создано",
    "resolved_total": "Всего решено", "threshold_seconds": "Порог, с", "period": "Период",
    "granularity": "Шаг периода", "ticket_id": "Обращение", "ticket_number": "Номер обращения",
    "survey_id": "Опрос", "alerted_at": "Время сигнала (UTC)", "suspected_agent_id": "Подозреваемый сотрудник",
    "resolved_by": "Кто решил", "lead_ids": "Руководители", "line": "Линия", "group_id": "Группа поддержки",
    "alerts": "Сигналов", "ticket_ids": "Обращения", "last_at": "Последний сигнал (UTC)", "limit": "Предел строк",
    "truncated": "Список обрезан", "total_alerts": "Всего сигналов",
    "tag": "Метка", "tagged": "Обращений с метками", "field": "Поле", "value": "Значение поля",
    "macro_id": "Код макроса", "macro_name": "Макрос", "uses": "Применений", "completed": "Выполнено полностью",
}
LIST_SEPARATOR = ", "
HISTORY_SHEET = {"en": "history", "ru": "история"}
SUMMARY_SHEET = {"en": "summary", "ru": "итоги"}
SUMMARY_HEADER = {"en": ["field", "value"], "ru": ["Показатель", "Значение"]}


def _header(name: str, lang: Lang) -> str:
    return HEADERS_RU.get(name, name) if lang == "ru" else name


# --- cells -----------------------------------------------------------------------------------------------

def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return csv_cell(LIST_SEPARATOR.join(str(v) for v in value))  # one cell per field, as in the JSON
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _xlsx_value(value: Any) -> Any:
    """Excel has no time zones: datetimes go in as naive UTC (the headers say so)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_XLSX_TEXT]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return _xlsx_value(LIST_SEPARATOR.join(str(v) for v in value))
    return str(value)


def _write_row(ws: Any, values: Iterable[Any], bold: bool = False) -> None:
    ws.append([_xlsx_value(v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"  # a client's "=HYPERLINK(...)" stays text
        if bold:
            cell.font = Font(bold=True)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read Cyrillic as UTF-8


def _xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        _write_row(ws, header, bold=True)
        for row in rows:
            _write_row(ws, row)
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- reports ---------------------------------------------------------------------------------------------

def report_columns(report: Report) -> list[str]:
    return list(report.ROW.model_fields)


def _row_values(row: BaseModel, columns: Sequence[str]) -> list[Any]:
    return [getattr(row, c) for c in columns]


def report_csv(report: Report, lang: Lang = "en") -> bytes:
    """The report's table; period and totals are in the JSON and XLSX forms (a CSV holds one table)."""
    columns = report_columns(report)
    return _csv([_header(c, lang) for c in columns], (_row_values(r, columns) for r in report.table()))


def report_xlsx(report: Report, lang: Lang = "en") -> bytes:
    """Sheet one: the table; sheet two: period, parameters and totals."""
    columns = report_columns(report)
    summary = [(_header(k, lang), v) for k, v in report.summary().items()]
    return _xlsx([
        (report.NAME, [_header(c, lang) for c in columns], (_row_values(r, columns) for r in report.table())),
        (SUMMARY_SHEET[lang], SUMMARY_HEADER[lang], summary),
    ])


def export_report(report: Report, fmt: Format, lang: Lang = "en") -> tuple[bytes, str, str]:
    """Bytes, media type and a file name, ready for a download response."""
    body = report_csv(report, lang) if fmt == "csv" else report_xlsx(report, lang)
    name = f"{report.NAME}_{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}.{fmt}"
    return body, MEDIA_TYPES[fmt], name


# --- ticket history --------------------------------------------------------------------------------------

def _clip(text: Any, limit: int = MAX_SUMMARY) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _with(head: str, tail: Any) -> str:
    return f"{head}: {_clip(tail)}" if tail else head


def _generic(payload: dict[str, Any]) -> str:
    parts = []
    for k, v in payload.items():
        if v is None or v == [] or v == {}:
            continue
        if isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        elif isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items() if b is not None)
        parts.append(f"{k}={v}")
    return _clip("; ".join(parts))


def summarize(event_type: str, p: dict[str, Any]) -> str:
    """One line saying what happened, for people reading the history in a spreadsheet."""
    match event_type:
        case "TicketOpened":
            return _with(f"#{p.get('number')} via {p.get('channel')}", p.get("subject") or p.get("text"))
        case "MessageReceived":
            c = p.get("content") or {}
            sender = c.get("sender") or {}
            who = sender.get("email") or sender.get("phone") or sender.get("name") or "client"
            return _with(f"{c.get('channel')} message from {who}", c.get("text"))
        case "TicketOffered":
            return f"offered to {', '.join(p.get('agent_ids') or [])} on line {p.get('line')} (round {p.get('round')})"
        case "TicketAssigned":
            return f"assigned to {p.get('agent_id')} ({p.get('mode')})"
        case "WorkStarted":
            return f"work started by {p.get('agent_id')}"
        case "ReplySent":
            return _with(f"reply by {p.get('agent_id')} via {p.get('channel')}", p.get("text"))
        case "NoteAdded":
            return _with(f"note by {p.get('author_id')}", p.get("text"))
        case "TicketEscalated":
            return _with(f"line {p.get('from_line')} → {p.get('to_line')} by {p.get('handed_by')}", p.get("reason"))
        case "SubTicketOpened":
            return _with(f"sub-ticket {p.get('child_id')} on line {p.get('line')}", p.get("summary"))
        case "FlagChanged":
            return _with(f"{p.get('flag')} = {str(p.get('value')).lower()}", p.get("reason"))
        case "TicketResolved":
            return _clip(f"resolved by {p.get('agent_id')}: problem: {p.get('problem')}; "
                         f"solution: {p.get('solution')}")
        case "RatingRecorded":
            return _with(f"rated {p.get('answer')}", p.get("comment"))
        case "CallbackLogged":
            answered = "answered" if p.get("answered") else "not answered"
            return _with(f"call-back by {p.get('agent_id')}, {answered}", p.get("comment"))
        case "CommandRejected":
            return _with(f"{p.get('command_type')} rejected ({p.get('code')})", p.get("reason"))
        case "TicketMerged" | "TicketAbsorbed" | "TicketSplit" | "MessageForwarded":
            return _moved(event_type, p)
    return _generic(p)


def _moved(event_type: str, p: dict[str, Any]) -> str:
    """Merge and split, on both tickets."""
    match event_type:
        case "TicketMerged":
            confirmed = p.get("cross_client_confirmed_by")
            across = f", across clients confirmed by {confirmed}" if confirmed else ""
            return _with(f"merged into #{p.get('target_number')} ({p.get('target_id')}) by {p.get('merged_by')}"
                         f"{across}: {p.get('moved_messages', 0)} messages, {p.get('moved_replies', 0)} replies, "
                         f"{p.get('moved_notes', 0)} notes moved", p.get("reason"))
        case "TicketAbsorbed":
            verb = "merged into this ticket" if p.get("kind") == "merge" else "split off into this ticket"
            moved = len(p.get("messages") or []) + len(p.get("replies") or [])
            return _with(f"#{p.get('from_number')} ({p.get('from_ticket_id')}) {verb} by {p.get('by')}: "
                         f"{moved} messages", p.get("reason"))
        case "TicketSplit":
            return _with(f"{len(p.get('message_ids') or [])} messages split off into {p.get('new_ticket_id')} by "
                         f"{p.get('split_by')}", p.get("subject"))
    c = p.get("content") or {}
    return _with(f"{c.get('channel')} message passed on to {p.get('to_ticket_id')} (merged)", c.get("text"))


def history_rows(history: Sequence[dict[str, Any]]) -> list[HistoryRow]:
    """As recorded (append order is the ledger's order); occurred_at stays the stored ISO string."""
    rows = []
    for e in history:
        at = e.get("occurred_at")
        rows.append(HistoryRow(at=at.isoformat() if isinstance(at, datetime) else str(at or ""),
                               type=str(e.get("type")), actor=e.get("actor"),
                               summary=summarize(str(e.get("type")), e.get("payload") or {})))
    return rows


HISTORY_COLUMNS = ["at", "type", "actor", "summary"]


def history_csv(history: TicketHistory, lang: Lang = "en") -> bytes:
    return _csv([_header(c, lang) for c in HISTORY_COLUMNS],
                ([r.at, r.type, r.actor, r.summary] for r in history.rows))


def history_xlsx(history: TicketHistory, lang: Lang = "en") -> bytes:
    return _xlsx([(HISTORY_SHEET[lang], [_header(c, lang) for c in HISTORY_COLUMNS],
                   ([r.at, r.type, r.actor, r.summary] for r in history.rows))])


def export_history(history: TicketHistory, fmt: Format, lang: Lang = "en") -> tuple[bytes, str, str]:
    body = history_csv(history, lang) if fmt == "csv" else history_xlsx(history, lang)
    name = f"ticket-{history.number or history.ticket_id}-history.{fmt}"
    return body, MEDIA_TYPES[fmt], name
